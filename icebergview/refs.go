package icebergview

import "github.com/siltdb/silt/manifest"

// fromOf is the Iceberg snapshot of the snapshot branch br was created
// from, when it is published: on its source branch, or on main (a
// branch's first snapshot shares its source's Iceberg snapshot).
func fromOf(br *manifest.BranchInfo, pubs map[int64]published, bornOf map[string]int64) (int64, bool) {
	if br.From == nil {
		return 0, false
	}
	if d, ok := pubs[iceIDFor(br.FromBranch, bornOf[br.FromBranch], br.From)]; ok && d.list == br.From.ManifestList {
		return d.iceID, true
	}
	if d, ok := pubs[br.From.ID]; ok && d.branch == "" && d.list == br.From.ManifestList {
		return d.iceID, true
	}
	return 0, false
}
