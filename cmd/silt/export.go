package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/siltdb/silt/stream"
)

const exportHelp = `DB.TABLE --brokers HOST:PORT[,…] --topic T --format debezium-json|upsert-json [--from N] [--follow] [--name NAME]

Publishes the table's changes between snapshots to a Kafka topic: one
record per changed key (insert, update with before and after, delete). The
position (the last snapshot fully published) is stored next to the table
under NAME, so a rerun resumes after it. --from 0 publishes the latest
state in full first; --from N publishes the changes after snapshot N.
--follow keeps publishing new snapshots until interrupted. SASL and TLS
come from the SILT_KAFKA_* environment variables (see silt sink).`

func (a *app) cmdExport(ctx context.Context, args []string) error {
	var (
		brokers, topic, name string
		from                 int64
		follow               bool
		poll                 time.Duration
	)
	pos, err := a.parseFlags("export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&brokers, "brokers", "", "Kafka brokers, host:port[,…]")
		fs.StringVar(&topic, "topic", "", "topic to publish to")
		fs.StringVar(&name, "name", "", "name of the stored position (default: the topic)")
		fs.Int64Var(&from, "from", -1, "start: -1 resume from the stored position, 0 the full latest state, N the changes after snapshot N")
		fs.BoolVar(&follow, "follow", false, "keep publishing new snapshots until interrupted")
		fs.DurationVar(&poll, "poll-interval", time.Second, "how often --follow looks for new snapshots")
	}, exportHelp)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: export takes one table (DB.TABLE)", errUsage)
	}
	format := a.g.format
	if format == "table" {
		format = ""
	}
	if brokers == "" || topic == "" || format == "" {
		return fmt.Errorf("%w: export needs --brokers, --topic and --format (debezium-json or upsert-json)", errUsage)
	}
	if from < -1 {
		return fmt.Errorf("%w: --from %d: want -1, 0 or a snapshot id", errUsage, from)
	}
	db, tname, err := splitTableName(pos[0])
	if err != nil {
		return err
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	t, err := cat.LoadTable(ctx, db, tname)
	if err != nil {
		return err
	}
	enc, err := stream.NewEncoder(format, t.Schema(), stream.Source{Database: db, Table: tname})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	sec, err := stream.KafkaSecurity{}.WithEnv(a.getenv)
	if err != nil {
		return fmt.Errorf("%w: export: %w", errUsage, err)
	}
	o := stream.ExportOptions{
		Security: sec,
		Brokers:  splitList(brokers), Topic: topic, Encoder: enc, Name: name, Follow: follow, PollInterval: poll,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(a.stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		},
	}
	switch {
	case from == 0:
		o.From = stream.FromEmpty
	case from > 0:
		o.From = from
	}
	e, err := stream.NewExporter(t, o)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	st, err := e.Run(ctx)
	fmt.Fprintf(a.stdout, "exported %s.%s to %s: %d snapshots, %d changes (%d inserts, %d updates, %d deletes); position: snapshot %d\n",
		db, tname, topic, st.Steps, st.Events, st.Inserts, st.Updates, st.Deletes, st.Position)
	if err != nil && !(follow && errors.Is(err, context.Canceled)) {
		return err
	}
	return nil
}
