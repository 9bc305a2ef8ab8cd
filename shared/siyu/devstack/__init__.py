"""The local stack: emulators, the WeCom simulator, the dev gateway and the demo. Never shipped."""
