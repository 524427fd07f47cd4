"""Pure domain: the fix lifecycle (CONTRACT §4) and the input rules."""
