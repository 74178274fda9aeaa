// chgo runs queries against a ClickHouse HTTP endpoint with clickhouse-go v2, configured as the
// Grafana ClickHouse plugin configures it (HTTP protocol, gzip, database/sql, max_execution_time),
// and prints each result as JSON for the conduitwatch tests to compare with chDB's own rows.
//
//	chgo -addr 127.0.0.1:8123 -user default -password secret < queries.json > results.json
//
// queries.json is a JSON array of SQL strings; results.json an array of {columns, types, rows} or
// {error}. Times are printed as epoch milliseconds, NaN and infinities as null.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type result struct {
	Columns []string `json:"columns,omitempty"`
	Types   []string `json:"types,omitempty"`
	Rows    [][]any  `json:"rows"`
	Error   string   `json:"error,omitempty"`
}

// plain turns a scanned value into JSON-friendly data.
func plain(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.UnixMilli()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			return string(v.Bytes())
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(plain(k))] = plain(v.MapIndex(k))
		}
		return out
	}
	return v.Interface()
}

func run(db *sql.DB, q string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return result{Error: err.Error()}
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{Error: err.Error()}
	}
	r := result{Rows: [][]any{}}
	for _, ct := range cts {
		r.Columns = append(r.Columns, ct.Name())
		r.Types = append(r.Types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return result{Error: err.Error()}
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = plain(reflect.ValueOf(d))
		}
		r.Rows = append(r.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return result{Error: err.Error()}
	}
	return r
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8123", "host:port of the HTTP interface")
	user := flag.String("user", "default", "user")
	password := flag.String("password", "", "password")
	flag.Parse()
	var queries []string
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "chgo: reading queries:", err)
		os.Exit(2)
	}
	db := clickhouse.OpenDB(&clickhouse.Options{
		Addr:        []string{*addr},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Database: "default", Username: *user, Password: *password},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionGZIP},
		Settings:    clickhouse.Settings{"max_execution_time": 30},
		DialTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second,
	})
	defer db.Close()
	if err := db.Ping(); err != nil {
		fmt.Fprintln(os.Stderr, "chgo: ping:", err)
		os.Exit(1)
	}
	out := make([]result, len(queries))
	for i, q := range queries {
		out[i] = run(db, q)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "chgo: writing results:", err)
		os.Exit(1)
	}
}
