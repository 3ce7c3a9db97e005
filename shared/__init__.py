"""Code that both the daemon and the CLI use."""
