import InferServeCLI

InferServeMain.installExecutor()
await InferServeMain.run()
