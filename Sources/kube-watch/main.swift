import KubeCLI

await KubeWatchMain.run()
