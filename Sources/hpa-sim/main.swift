import HPASimCLI

await HPASimMain.run()
