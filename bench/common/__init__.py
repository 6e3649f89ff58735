"""What every benchmark shares: the shared face sets (data), tables and timing (report), a local server (server)."""
