// Package lifecycle runs the lifecycle policies of a table: the work that
// deletes or moves files after they were written. Each policy is a function
// of a *table.Table and runs from outside the table through a small set of
// hooks (table/gc.go: the table's store, root, options, clock, ids and cold
// store, and its manifest handle for reference walking and commits).
// Package table never imports lifecycle; catalog, query, server and cmd
// may.
//
// Deleting is the only operation in silt that can lose data. The rules
// (docs/adr/0012 and 0017): retention by replacement time, leases pin
// older snapshots, expiry plans into a journal and re-reads the references
// before deleting, and orphan cleanup fixes its cutoff and lists the store
// before it reads the references, while every commit refuses to publish
// files it held for more than half of orphan.grace-period.
//
// Files:
//
//	maintain.go          Maintain: every policy once, in order, with a report
//	autotag.go           AutoTag, AutoTagPlan: automatic tags and tag retention
//	expire.go            ExpireSnapshots: snapshot retention and the deletion
//	                     of what expired snapshots alone reference
//	expire_journal.go    the expiry journal: a crashed run is resumed, never replanned
//	expire_refs.go       reference walking: what snapshots, tags, branches
//	                     and leases reach
//	orphan.go            CleanOrphans, CleanLeases: unreferenced files older than
//	                     the grace period; temp files of crashed writes; expired leases
//	partition_expire.go  ExpirePartitions: drop partitions older than
//	                     partition.expiration-time; partition times
//	tier.go              TierFiles: move data files to the cold tier
//	gc.go                tableGC: the view of a table the policies work on
package lifecycle
