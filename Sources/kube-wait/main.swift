import KubeCLI

await KubeWaitMain.run()
