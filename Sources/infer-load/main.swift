import InferLoadCLI

await InferLoadMain.run()
