"""The fixes service: AI sessions, suggested fixes and the fix lifecycle (CONTRACT §1, §4)."""
