package stream

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchSizeFollowsBudget checks the fetch requests the sink sends:
// their limits count compressed bytes, so they must leave the memory
// budget room for the fetch once decompressed (enveloped Debezium JSON
// compresses about ten times): at most budget/32 per response and 1 MiB
// (Kafka's consumer default) per partition.
func TestFetchSizeFollowsBudget(t *testing.T) {
	for _, budget := range []int64{MinMemoryBudget, DefaultMemoryBudget, 4 << 30} {
		t.Run(fmt.Sprint(budget>>20, "MiB"), func(t *testing.T) {
			c := newCluster(t, 2, "events")
			var (
				mu            sync.Mutex
				maxResp, maxP int32
				seen          int
			)
			c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				r := req.(*kmsg.FetchRequest)
				mu.Lock()
				defer mu.Unlock()
				seen++
				maxResp = max(maxResp, r.MaxBytes)
				for _, tp := range r.Topics {
					for _, p := range tp.Partitions {
						maxP = max(maxP, p.PartitionMaxBytes)
					}
				}
				return nil, nil, false
			})
			tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
			f, _ := NewFormat("json", tb.Schema(), FormatOptions{})
			p := newCounterProducer(manualProducer(t, c), "events", 2, 50, rand.New(rand.NewPCG(1, 2)))
			_, stop := runSink(t, tb, Options{
				Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m", Format: f,
				CommitInterval: 50 * time.Millisecond, MemoryBudget: budget, ClientOpts: []kgo.Opt{kgo.FetchMaxWait(20 * time.Millisecond)},
			})
			p.produce(t, 100)
			waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)
			_ = stop()
			mu.Lock()
			defer mu.Unlock()
			t.Logf("budget %d: %d fetches, response limit %d, partition limit %d", budget, seen, maxResp, maxP)
			if seen == 0 {
				t.Fatal("no fetch requests seen")
			}
			if int64(maxResp) > max(budget/32, 1<<20) || maxP > 1<<20 {
				t.Fatalf("fetch limits %d per response, %d per partition for a budget of %d: a decompressed fetch may exceed the budget", maxResp, maxP, budget)
			}
		})
	}
}
