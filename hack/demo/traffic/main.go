// Command traffic sends rows of a demo data set to a served model over the
// Open Inference Protocol v2, each row's sensitive group as the request
// parameter "group" (the values of the sensitive columns, joined by ","
// as the reference summary names groups), optionally shifting one feature:
// the live traffic the e2e monitors.
//
//	traffic --url http://127.0.0.1:18501 --model credit-local --data eval.csv --rows 1500 [--skip N] [--shift region_score=3]
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18501", "the server")
	model := flag.String("model", "credit-local", "the served model's name")
	data := flag.String("data", "_output/demo/data/eval.csv", "CSV with a header row")
	label := flag.String("label", "label", "the label column (not sent)")
	sensitive := flag.String("sensitive", "sex,age_group", "the sensitive columns (not sent; their values are the group)")
	input := flag.String("input", "features", "the model input's name")
	rows := flag.Int("rows", 1500, "rows to send")
	skip := flag.Int("skip", 0, "rows to skip first")
	batch := flag.Int("batch", 50, "rows per request")
	shift := flag.String("shift", "", "COLUMN=DELTA: add DELTA to a feature")
	flag.Parse()
	if err := run(*url, *model, *data, *label, *sensitive, *input, *rows, *skip, *batch, *shift); err != nil {
		fmt.Fprintln(os.Stderr, "traffic:", err)
		os.Exit(1)
	}
}

func run(url, model, data, label, sensitive, input string, rows, skip, batch int, shift string) error {
	f, err := os.Open(data)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", data, err)
	}
	groupCols := strings.Split(sensitive, ",")
	var features, groups []int
	shiftCol, delta := -1, 0.0
	if shift != "" {
		name, value, ok := strings.Cut(shift, "=")
		if delta, err = strconv.ParseFloat(value, 64); !ok || err != nil {
			return fmt.Errorf("--shift %q: want COLUMN=DELTA", shift)
		}
		if shiftCol = slices.Index(header, name); shiftCol < 0 {
			return fmt.Errorf("--shift: %s has no column %q", data, name)
		}
	}
	for i, h := range header {
		switch {
		case h == label:
		case slices.Contains(groupCols, h):
			groups = append(groups, i)
		default:
			features = append(features, i)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	sent, seen := 0, 0
	var values []float32
	var rowGroups []string
	flush := func() error {
		if len(rowGroups) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{
			"parameters": map[string]any{"group": rowGroups},
			"inputs":     []any{map[string]any{"name": input, "shape": []int{len(rowGroups), len(features)}, "datatype": "FP32", "data": values}},
		})
		resp, err := client.Post(url+"/v2/models/"+model+"/infer", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Status, msg)
		}
		sent += len(rowGroups)
		values, rowGroups = values[:0], rowGroups[:0]
		return nil
	}
	for sent+len(rowGroups) < rows {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", data, err)
		}
		if seen++; seen <= skip {
			continue
		}
		for _, i := range features {
			x, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return fmt.Errorf("%s row %d column %s: %w", data, seen, header[i], err)
			}
			if i == shiftCol {
				x += delta
			}
			values = append(values, float32(x))
		}
		parts := make([]string, len(groups))
		for j, i := range groups {
			parts[j] = monitoring.GroupKey(rec[i])
		}
		rowGroups = append(rowGroups, strings.Join(parts, ","))
		if len(rowGroups) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Printf("sent %d rows to %s in batches of %d%s\n", sent, model, batch, map[bool]string{true: " (shifted " + shift + ")"}[shift != ""])
	return nil
}
