package hub

// benchLimits lifts the connection and session limits for benchmarks that
// hold thousands of connections of one user from one address.
func benchLimits(cfg *Config, conns int) {
	cfg.MaxConnections = conns + 100
	cfg.MaxConnectionsPerIP = conns + 100
	cfg.MaxSessionsPerUser = conns + 100
}
