package groupcommit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Tx is an Op's view of the batch's transaction: App is the transaction's
// app (use its DB() for reads and plain SQL), and the methods below write
// records and remember them for the after-success hooks.
type Tx struct {
	App core.App

	writes []write
	stmts  map[string]*dbx.Query // shared by the Ops of a batch
}

// Query returns the statement sqlText (dbx syntax: {{table}}, [[column]],
// {:param}) bound to params. Statements are prepared once per batch and
// reused by its Ops: most of an Op's SQL is the same text every time, and
// parsing it is a large share of the writer's time (SQLite here is C
// translated to Go). A statement that cannot be prepared runs unprepared,
// where its error shows.
func (t *Tx) Query(sqlText string, params dbx.Params) *dbx.Query {
	if t.stmts == nil {
		return t.App.DB().NewQuery(sqlText).Bind(params)
	}
	q, ok := t.stmts[sqlText]
	if !ok {
		q = t.App.DB().NewQuery(sqlText).Prepare()
		if q.LastError != nil {
			return t.App.DB().NewQuery(sqlText).Bind(params)
		}
		t.stmts[sqlText] = q
	}
	return q.Bind(params)
}

type write struct {
	typ    string // core.ModelEventTypeCreate or ...Update
	record *core.Record
}

// Insert stores r as a new row with one plain INSERT, the way PocketBase
// stores a record (its DB export: JSON fields as JSON text, dates in
// PocketBase's format), without validation or before-save hooks. It gives r
// an id when it has none and sets its autodate fields to now. With
// ignoreDuplicate, a row that would break a unique index is skipped
// (INSERT ... ON CONFLICT DO NOTHING) and Insert reports false.
func (t *Tx) Insert(r *core.Record, ignoreDuplicate bool) (bool, error) {
	if r.Id == "" {
		r.Id = core.GenerateDefaultRandomId()
	}
	now := types.NowDateTime()
	for _, f := range r.Collection().Fields {
		if af, ok := f.(*core.AutodateField); ok && (af.OnCreate || af.OnUpdate) && r.GetDateTime(af.Name).IsZero() {
			r.SetRaw(af.Name, now)
		}
	}
	data, err := r.DBExport(t.App)
	if err != nil {
		return false, fmt.Errorf("export %s record: %w", r.Collection().Name, err)
	}
	cols := make([]string, 0, len(data))
	for c := range data {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	var sqlText strings.Builder
	params := make(dbx.Params, len(cols))
	sqlText.WriteString("INSERT INTO {{" + r.Collection().Name + "}} (")
	for i, c := range cols {
		if i > 0 {
			sqlText.WriteString(", ")
		}
		sqlText.WriteString("[[" + c + "]]")
	}
	sqlText.WriteString(") VALUES (")
	for i, c := range cols {
		if i > 0 {
			sqlText.WriteString(", ")
		}
		p := fmt.Sprintf("p%d", i)
		sqlText.WriteString("{:" + p + "}")
		params[p] = data[c]
	}
	sqlText.WriteString(")")
	if ignoreDuplicate {
		sqlText.WriteString(" ON CONFLICT DO NOTHING")
	}
	res, err := t.Query(sqlText.String(), params).Execute()
	if err != nil {
		return false, fmt.Errorf("insert %s %s: %w", r.Collection().Name, r.Id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	r.MarkAsNotNew()
	t.writes = append(t.writes, write{typ: core.ModelEventTypeCreate, record: r})
	return true, nil
}

// UpdateReturning runs an UPDATE ... RETURNING * of one row of collection
// and returns the row as a record, remembered for the after-update hooks.
// It returns (nil, nil) when no row matched. The statement is the caller's
// ({{table}} and [[column]] quoting as in dbx); it must set the updated
// autodate itself (see Now).
func (t *Tx) UpdateReturning(collection *core.Collection, statement string, params dbx.Params) (*core.Record, error) {
	row := dbx.NullStringMap{}
	err := t.Query(statement+" RETURNING *", params).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", collection.Name, err)
	}
	r, err := RecordFromRow(collection, row)
	if err != nil {
		return nil, err
	}
	t.writes = append(t.writes, write{typ: core.ModelEventTypeUpdate, record: r})
	return r, nil
}

// Now is the value of an autodate column written now, as PocketBase stores it.
func Now() string {
	return types.NowDateTime().String()
}

// RecordFromRow builds a stored record of collection from a database row,
// as PocketBase's record queries do.
func RecordFromRow(collection *core.Collection, row dbx.NullStringMap) (*core.Record, error) {
	r := core.NewRecord(collection)
	for _, f := range collection.Fields {
		var raw any
		if ns, ok := row[f.GetName()]; ok && ns.Valid {
			raw = ns.String
		}
		v, err := f.PrepareValue(r, raw)
		if err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", collection.Name, f.GetName(), err)
		}
		r.SetRaw(f.GetName(), v)
	}
	r.Id = r.GetString(core.FieldNameId)
	if err := r.PostScan(); err != nil {
		return nil, err
	}
	return r, nil
}

// fireAfterSuccess triggers, on the app outside the transaction, the
// after-success model hooks (and through them the record hooks and
// realtime) of every row the Op wrote, in the order written. Like
// PocketBase after a committed save, a hook's error is returned but the
// rows stay.
func (t *Tx) fireAfterSuccess(ctx context.Context, app core.App) error {
	var errs []error
	for _, w := range t.writes {
		e := &core.ModelEvent{App: app, Context: ctx, Type: w.typ}
		e.Model = w.record
		var err error
		if w.typ == core.ModelEventTypeCreate {
			err = app.OnModelAfterCreateSuccess().Trigger(e)
		} else {
			err = app.OnModelAfterUpdateSuccess().Trigger(e)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
