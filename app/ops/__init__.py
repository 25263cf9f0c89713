"""Operations: metrics, structured logs, health and readiness, the scheduler's lock."""
