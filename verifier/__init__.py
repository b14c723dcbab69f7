"""The relying side: verification pipeline and policies, gates, logins, trust and status cache."""
