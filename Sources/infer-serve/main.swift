import InferServeCLI

await InferServeMain.run()
