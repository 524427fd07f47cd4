"""The script-builder service: script-builder sessions, their AI drafting
conversation and editor draft, and the script template library."""
