package table

import "context"

// AutoTag runs the table's automatic tag creation policy once: it creates
// the tags that are due and deletes automatic tags beyond the retention
// count, and returns their names.
// TODO(history): implemented by the history work (issue 4).
func (t *Table) AutoTag(ctx context.Context) (created, deleted []string, err error) {
	return nil, nil, nil
}
