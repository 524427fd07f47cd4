"""Cross-cutting runtime shared by every FlowPilot process."""
