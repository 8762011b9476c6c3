"""What other tools consume: VS Code tasks, the CI steps and the pre-commit entry."""
