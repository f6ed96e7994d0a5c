package stream

import (
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaGroup are a sink's consumer group settings: how fast the group
// notices a dead member and whether members are static. The
// SILT_KAFKA_SESSION_TIMEOUT and SILT_KAFKA_STATIC_MEMBERSHIP environment
// variables override them (WithEnv).
type KafkaGroup struct {
	// SessionTimeout is how long the group coordinator waits for a
	// member's heartbeat before it declares the member dead and gives its
	// partitions to the others (Kafka's session.timeout.ms). It bounds
	// how long a killed sink's partitions sit idle. The heartbeat
	// interval is a tenth of it. The broker accepts only values within
	// its group.min.session.timeout.ms (default 6s) and
	// group.max.session.timeout.ms. Default: DefaultSessionTimeout.
	SessionTimeout string `json:"session-timeout,omitempty" yaml:"session-timeout"`
	// StaticMembership makes the member name the group instance id
	// (KIP-345): a member that restarts within the session timeout gets
	// its partitions back without a rebalance. A static member does not
	// leave the group when it stops, so its partitions move only after
	// the session timeout. Member names must then be stable and unique
	// (a StatefulSet's pod names, not a Deployment's).
	StaticMembership bool `json:"static-membership,omitempty" yaml:"static-membership"`
}

// Bounds and default of the session timeout.
const (
	DefaultSessionTimeout = 10 * time.Second
	MinSessionTimeout     = 100 * time.Millisecond
	MaxSessionTimeout     = 30 * time.Minute
)

// WithEnv returns g with SILT_KAFKA_SESSION_TIMEOUT and
// SILT_KAFKA_STATIC_MEMBERSHIP applied.
func (g KafkaGroup) WithEnv(getenv func(string) string) (KafkaGroup, error) {
	if v := strings.TrimSpace(getenv("SILT_KAFKA_SESSION_TIMEOUT")); v != "" {
		g.SessionTimeout = v
		if err := g.Validate(); err != nil {
			return g, fmt.Errorf("SILT_KAFKA_SESSION_TIMEOUT: %w", err)
		}
	}
	if v := strings.TrimSpace(getenv("SILT_KAFKA_STATIC_MEMBERSHIP")); v != "" {
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			g.StaticMembership = true
		case "false", "0", "no":
			g.StaticMembership = false
		default:
			return g, fmt.Errorf("%w: SILT_KAFKA_STATIC_MEMBERSHIP %q is not true or false", types.ErrInvalid, v)
		}
	}
	return g, g.Validate()
}

// Validate checks the session timeout.
func (g KafkaGroup) Validate() error {
	_, err := g.sessionTimeout()
	return err
}

func (g KafkaGroup) sessionTimeout() (time.Duration, error) {
	if g.SessionTimeout == "" {
		return DefaultSessionTimeout, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(g.SessionTimeout))
	if err != nil || d < MinSessionTimeout || d > MaxSessionTimeout {
		return 0, fmt.Errorf("%w: session-timeout %q: want a duration from %s to %s (e.g. 10s); the broker's group.min.session.timeout.ms and group.max.session.timeout.ms bound it too",
			types.ErrInvalid, g.SessionTimeout, MinSessionTimeout, MaxSessionTimeout)
	}
	return d, nil
}

// heartbeatInterval is the heartbeat for a session timeout: a tenth of it
// (Kafka wants at most a third), between 50ms and 3s.
func heartbeatInterval(session time.Duration) time.Duration {
	return min(max(session/10, 50*time.Millisecond), 3*time.Second)
}

// clientOpts are the franz-go options of the settings for the member
// named member.
func (g KafkaGroup) clientOpts(member string) ([]kgo.Opt, error) {
	d, err := g.sessionTimeout()
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SessionTimeout(d), kgo.HeartbeatInterval(heartbeatInterval(d))}
	if g.StaticMembership {
		opts = append(opts, kgo.InstanceID(member))
	}
	return opts, nil
}
