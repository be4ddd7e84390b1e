"""Evidence: files the parties add to a dispute, checked by content and stored."""
