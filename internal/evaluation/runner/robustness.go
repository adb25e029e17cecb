package runner

import (
	"fmt"

	"github.com/responsible-ai/rmodel-operator/internal/report"
)

func mergeRobustness(out *report.Report, parts []*report.Report) error {
	return fmt.Errorf("merge: robustness shards are not supported yet")
}
