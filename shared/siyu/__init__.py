"""siyu: private-domain customer operations for a bank on WeCom."""
