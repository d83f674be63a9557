import KubeWaitCLI

await KubeWaitMain.run()
