import InferStatsCLI

await InferStatsMain.run()
