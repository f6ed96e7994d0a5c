package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/stream"
	"github.com/siltdb/silt/table"
)

// Checks that a fresh cluster starts (deploy/k8s): the sinks' tables are
// created before the sinks run (an init container or a Job runs `silt sql
// -f` over a ConfigMap key, and running it twice on an empty warehouse
// creates every table a sink config names, with a schema the sink's
// format accepts), every Service selects exactly one workload, every
// workload's selector matches its pods, and a disk cache's budget fits the
// volume it lives on. And that the systemd unit is hardened
// (systemd-analyze security) without losing what silt needs.

// kafkaEnv are the SILT_KAFKA_* variables a sink reads (not serve
// settings).
var kafkaEnv = map[string]bool{
	"SILT_KAFKA_SASL_MECHANISM": true, "SILT_KAFKA_SASL_USERNAME": true, "SILT_KAFKA_SASL_PASSWORD": true,
	"SILT_KAFKA_SASL_PASSWORD_FILE": true, "SILT_KAFKA_SASL_OAUTH_TOKEN_FILE": true, "SILT_KAFKA_TLS": true,
	"SILT_KAFKA_TLS_CA_FILE": true, "SILT_KAFKA_TLS_CERT_FILE": true, "SILT_KAFKA_TLS_KEY_FILE": true,
	"SILT_KAFKA_TLS_SERVER_NAME": true, "SILT_KAFKA_SESSION_TIMEOUT": true, "SILT_KAFKA_STATIC_MEMBERSHIP": true,
}

// k8sObject is one decoded manifest object.
type k8sObject struct {
	where string
	obj   map[string]any
}

func (o k8sObject) kind() string { return asString(o.obj["kind"]) }

// podSpec is the pod template's spec of a workload (nil for others).
func (o k8sObject) podSpec() map[string]any {
	spec := asMap(o.obj["spec"])
	switch o.kind() {
	case "Deployment", "StatefulSet", "Job":
		return asMap(asMap(spec["template"])["spec"])
	case "CronJob":
		return asMap(asMap(asMap(asMap(spec["jobTemplate"])["spec"])["template"])["spec"])
	}
	return nil
}

func (o k8sObject) podLabels() map[string]any {
	spec := asMap(o.obj["spec"])
	if o.kind() == "CronJob" {
		spec = asMap(asMap(spec["jobTemplate"])["spec"])
	}
	return asMap(asMap(asMap(spec["template"])["metadata"])["labels"])
}

// selects reports whether every label of sel is in labels.
func selects(sel, labels map[string]any) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if fmt.Sprint(labels[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// containerEnv returns a container's literal env values.
func containerEnv(ctr map[string]any) map[string]string {
	out := map[string]string{}
	for _, e := range asList(ctr["env"]) {
		if v, ok := asMap(e)["value"]; ok {
			out[asString(asMap(e)["name"])] = fmt.Sprint(v)
		}
	}
	return out
}

// mountedKey returns the ConfigMap text a container sees at file.
func mountedKey(spec, ctr map[string]any, configMaps map[string]map[string]string, file string) (string, bool) {
	volumes := map[string]string{}
	for _, v := range asList(spec["volumes"]) {
		if cm := asMap(asMap(v)["configMap"]); cm != nil {
			volumes[asString(asMap(v)["name"])] = asString(cm["name"])
		}
	}
	for _, vm := range asList(ctr["volumeMounts"]) {
		m := asMap(vm)
		if cm, ok := volumes[asString(m["name"])]; ok && path.Dir(file) == asString(m["mountPath"]) {
			text, ok := configMaps[cm][path.Base(file)]
			return text, ok
		}
	}
	return "", false
}

// k8sQuantity parses a Kubernetes byte quantity (20Gi, 500M, 1e9).
func k8sQuantity(s string) (int64, bool) {
	m := regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$`).FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	mult := map[string]int64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m[2]]
	return n * mult, true
}

// Bounds of a disk cache budget relative to its volume: the lookup index
// and temporary files share the volume, and a budget far below it wastes
// the volume.
const (
	cacheMaxShare = 0.85
	cacheMinShare = 0.5
)

// tableCreator is a container that runs `silt sql -f FILE`.
type tableCreator struct {
	where, warehouse, sql string
}

// checkK8sStartup runs the startup checks over every manifest object.
func (c *deployChecker) checkK8sStartup(objs []k8sObject, configMaps map[string]map[string]string) {
	type sinkNeed struct {
		where, warehouse string
		sink             stream.SinkConfig
		creators         []tableCreator // in the same pod, before it
	}
	var needs []sinkNeed
	var jobCreators []tableCreator
	var workloads []k8sObject
	for _, o := range objs {
		spec := o.podSpec()
		if spec == nil {
			continue
		}
		workloads = append(workloads, o)
		if o.kind() == "Deployment" || o.kind() == "StatefulSet" {
			sel := asMap(asMap(asMap(o.obj["spec"])["selector"])["matchLabels"])
			if !selects(sel, o.podLabels()) {
				c.problem(o.where, "spec.selector %v does not match the pod labels %v", sel, o.podLabels())
			}
		}
		var creators []tableCreator
		for _, ct := range asList(spec["initContainers"]) {
			ctr := asMap(ct)
			where := o.where + " init container " + asString(ctr["name"])
			if !strings.Contains(asString(ctr["image"]), "silt") {
				continue
			}
			argv := append(strList(ctr["command"]), strList(ctr["args"])...)
			if len(argv) > 0 && path.Base(argv[0]) == "silt" {
				argv = argv[1:]
			}
			c.checkArgv(where, argv)
			for _, e := range asList(ctr["env"]) {
				env := asMap(e)
				c.checkEnvName(where, asString(env["name"]))
				if n := asString(env["name"]); strings.HasPrefix(n, "AWS_") && n != "AWS_REGION" && asMap(asMap(env["valueFrom"])["secretKeyRef"]) == nil {
					c.problem(where, "%s must come from a Secret (valueFrom.secretKeyRef)", n)
				}
			}
			if cr, ok := c.sqlCreator(where, spec, ctr, argv, configMaps); ok {
				creators = append(creators, cr)
			}
		}
		for _, ct := range asList(spec["containers"]) {
			ctr := asMap(ct)
			where := o.where + " container " + asString(ctr["name"])
			if !strings.Contains(asString(ctr["image"]), "silt") {
				continue
			}
			argv := append(strList(ctr["command"]), strList(ctr["args"])...)
			if len(argv) > 0 && path.Base(argv[0]) == "silt" {
				argv = argv[1:]
			}
			if o.kind() == "Job" || o.kind() == "CronJob" {
				if cr, ok := c.sqlCreator(where, spec, ctr, argv, configMaps); ok {
					jobCreators = append(jobCreators, cr)
				}
			}
			if len(argv) == 0 || argv[0] != "serve" {
				continue
			}
			cfgPath, _ := flagValue(argv, "config")
			data, ok := mountedKey(spec, ctr, configMaps, cfgPath)
			if !ok {
				continue // checkKubernetes reports it
			}
			env := containerEnv(ctr)
			cfg, err := server.Load(server.Sources{File: cfgPath, Data: []byte(data), Env: func(k string) string { return env[k] }})
			if err != nil {
				continue // checkKubernetes reports it
			}
			for _, sc := range cfg.Sinks {
				needs = append(needs, sinkNeed{where: where, warehouse: cfg.Warehouse, sink: sc, creators: creators})
			}
			c.checkCache(where, spec, ctr, cfg)
		}
	}

	// Services select exactly one workload.
	for _, o := range objs {
		if o.kind() != "Service" {
			continue
		}
		sel := asMap(asMap(o.obj["spec"])["selector"])
		var hit []string
		for _, w := range workloads {
			if selects(sel, w.podLabels()) {
				hit = append(hit, w.where)
			}
		}
		sort.Strings(hit)
		if len(hit) != 1 {
			c.problem(o.where, "selector %v selects %d workloads %v, want exactly one", sel, len(hit), hit)
		}
	}

	// Every sink's table is created before the sink starts.
	for _, n := range needs {
		creators := append(append([]tableCreator(nil), n.creators...), jobCreators...)
		if len(creators) == 0 {
			c.problem(n.where, "sink %s: nothing creates table %s before the sink starts (an init container or a Job running silt sql -f): a fresh warehouse crash-loops", n.sink.DisplayName(), n.sink.Table)
			continue
		}
		var sqls []string
		for _, cr := range creators {
			if cr.warehouse != n.warehouse {
				c.problem(cr.where, "creates tables in warehouse %q, the sinks of %s use %q", cr.warehouse, n.where, n.warehouse)
			}
			sqls = append(sqls, cr.sql)
		}
		c.checkTablesCreated(n.where, sqls, n.sink)
	}
}

// sqlCreator recognises `silt sql -f FILE` over a mounted ConfigMap key.
func (c *deployChecker) sqlCreator(where string, spec, ctr map[string]any, argv []string, configMaps map[string]map[string]string) (tableCreator, bool) {
	if len(argv) == 0 || argv[0] != "sql" {
		return tableCreator{}, false
	}
	file, ok := flagValue(argv, "f")
	if !ok {
		c.problem(where, "silt sql without -f FILE")
		return tableCreator{}, false
	}
	text, ok := mountedKey(spec, ctr, configMaps, file)
	if !ok {
		c.problem(where, "-f %s is not a key of a mounted ConfigMap", file)
		return tableCreator{}, false
	}
	if !regexp.MustCompile(`(?i)CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS`).MatchString(text) || regexp.MustCompile(`(?i)CREATE\s+TABLE\s+[^I]`).MatchString(text) {
		c.problem(where, "%s must create its tables with CREATE TABLE IF NOT EXISTS (it runs at every pod start)", file)
	}
	return tableCreator{where: where, warehouse: containerEnv(ctr)["SILT_WAREHOUSE"], sql: text}, true
}

// checkTablesCreated runs the SQL scripts twice on an empty local
// warehouse and checks that sink's table exists after them with a schema
// its format accepts.
func (c *deployChecker) checkTablesCreated(where string, sqls []string, sink stream.SinkConfig) {
	dir, err := os.MkdirTemp("", "silt-deploy-sql")
	if err != nil {
		c.problem(where, "temp dir: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	wh := filepath.Join(dir, "wh")
	for round := 1; round <= 2; round++ {
		for i, sql := range sqls {
			f := filepath.Join(dir, fmt.Sprintf("s%d.sql", i))
			if err := os.WriteFile(f, []byte(sql), 0o644); err != nil {
				c.problem(where, "%v", err)
				return
			}
			cmd := exec.Command(siltBin, "sql", "-f", f)
			cmd.Env = append(os.Environ(), "SILT_WAREHOUSE="+wh, "HOME="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				c.problem(where, "the table SQL fails on run %d: %v: %s", round, err, strings.TrimSpace(string(out)))
				return
			}
		}
	}
	store, err := objstore.NewLocal(wh)
	if err != nil {
		c.problem(where, "%v", err)
		return
	}
	db, name, err := sink.TableName()
	if err != nil {
		c.problem(where, "sink %s: %v", sink.DisplayName(), err)
		return
	}
	t, err := catalog.New(store, "", table.Env{}).LoadTable(context.Background(), db, name)
	if err != nil {
		c.problem(where, "sink %s: table %s is not created by the table SQL: %v", sink.DisplayName(), sink.Table, err)
		return
	}
	if _, err := sink.Options(t.Schema()); err != nil {
		c.problem(where, "sink %s: the created table %s does not suit the sink: %v", sink.DisplayName(), sink.Table, err)
	}
}

// checkCache checks that a serve container's disk cache lives on a volume
// of its own whose size the cache budget fits.
func (c *deployChecker) checkCache(where string, spec, ctr map[string]any, cfg *server.Config) {
	if cfg.CacheDir == "" {
		return
	}
	budget, err := table.ParseSize("cache-size", cfg.CacheSize)
	if err != nil {
		c.problem(where, "cache-size %q: %v", cfg.CacheSize, err)
		return
	}
	vol := ""
	for _, vm := range asList(ctr["volumeMounts"]) {
		if asString(asMap(vm)["mountPath"]) == cfg.CacheDir {
			vol = asString(asMap(vm)["name"])
		}
	}
	if vol == "" {
		c.problem(where, "cache-dir %s is not a mounted volume (the cache would fill the container's disk)", cfg.CacheDir)
		return
	}
	for _, v := range asList(spec["volumes"]) {
		if asString(asMap(v)["name"]) != vol {
			continue
		}
		ed := asMap(asMap(v)["emptyDir"])
		if ed == nil {
			return // a persistent volume: its size is the claim's business
		}
		limit, ok := k8sQuantity(fmt.Sprint(ed["sizeLimit"]))
		if !ok {
			c.problem(where, "cache volume %s has no emptyDir.sizeLimit: the pod may fill the node's disk", vol)
			return
		}
		if float64(budget) > cacheMaxShare*float64(limit) || float64(budget) < cacheMinShare*float64(limit) {
			c.problem(where, "cache-size %s (%d bytes) does not match the cache volume's sizeLimit %v (%d bytes): want %.0f%%..%.0f%% of it",
				cfg.CacheSize, budget, ed["sizeLimit"], limit, 100*cacheMinShare, 100*cacheMaxShare)
		}
		return
	}
	c.problem(where, "cache volume %s is not a volume of the pod", vol)
}

// systemdExposure is what systemd-analyze security may rate the unit: "OK"
// or better (the scale is 0..10; OK ends below 5.0).
const systemdExposure = 4.9

var exposureLine = regexp.MustCompile(`Overall exposure level for [^:]+: ([0-9.]+) (\S+)`)

// checkSystemdHardening checks the unit's sandbox: rated by
// systemd-analyze (when installed), and still letting silt write its
// state and cache directories and reach the network.
func (c *deployChecker) checkSystemdHardening(name string) {
	text := string(c.files[name])
	kv := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && !strings.HasPrefix(k, "#") {
			kv[k] = append(kv[k], v)
		}
	}
	writable := map[string]bool{}
	for _, v := range kv["ReadWritePaths"] {
		for _, p := range strings.Fields(v) {
			writable[strings.TrimLeft(p, "-")] = true
		}
	}
	for _, d := range kv["StateDirectory"] {
		writable["/var/lib/"+d] = true
	}
	for _, d := range kv["CacheDirectory"] {
		writable["/var/cache/"+d] = true
	}
	if strict := lastValue(kv["ProtectSystem"]); strict == "strict" || strict == "full" {
		for _, e := range kv["Environment"] {
			if k, v, _ := strings.Cut(e, "="); k == "SILT_CACHE_DIR" && !writable[v] {
				c.problem(name, "the cache dir %s is not writable under ProtectSystem=%s: add it to ReadWritePaths or use CacheDirectory", v, strict)
			}
		}
	}
	if lastValue(kv["PrivateNetwork"]) == "true" || lastValue(kv["PrivateNetwork"]) == "yes" {
		c.problem(name, "PrivateNetwork cuts silt off from S3 and Kafka")
	}
	if af := lastValue(kv["RestrictAddressFamilies"]); af != "" && (!strings.Contains(af, "AF_INET") || !strings.Contains(af, "AF_INET6") || strings.HasPrefix(af, "~")) {
		c.problem(name, "RestrictAddressFamilies=%s: silt needs AF_INET and AF_INET6", af)
	}
	if d := lastValue(kv["IPAddressDeny"]); d != "" && len(kv["IPAddressAllow"]) == 0 {
		c.problem(name, "IPAddressDeny=%s without IPAddressAllow cuts silt off from S3 and Kafka", d)
	}
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return
	}
	dir, err := os.MkdirTemp("", "silt-unit")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	unit := filepath.Join(dir, path.Base(name))
	if err := os.WriteFile(unit, c.files[name], 0o644); err != nil {
		return
	}
	out, _ := exec.Command(bin, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	m := exposureLine.FindStringSubmatch(string(out))
	if m == nil {
		if strings.Contains(string(out), "offline") {
			return // a systemd-analyze without --offline
		}
		c.problem(name, "systemd-analyze security gave no rating: %s", strings.TrimSpace(string(out)))
		return
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v > systemdExposure {
		c.problem(name, "systemd-analyze security rates the unit's exposure %s %s, want %.1f (OK) or better", m[1], m[2], systemdExposure)
	}
}

// lastValue returns the last value of a unit key ("" when unset).
func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[len(vs)-1])
}

// TestDeployStartupDriftDetected: each way a deployment fails to start,
// or outgrows its volume, or loses its sandbox, is caught.
func TestDeployStartupDriftDetected(t *testing.T) {
	oldUnit := "[Unit]\nDescription=silt\n[Service]\nUser=silt\nExecStart=/usr/local/bin/silt serve --config /etc/silt/silt.yaml --listen 127.0.0.1:9090\nTimeoutStopSec=45\nStateDirectory=silt\nNoNewPrivileges=true\nProtectSystem=strict\nProtectHome=true\nPrivateTmp=true\nReadWritePaths=/var/lib/silt\n[Install]\nWantedBy=multi-user.target\n"
	cases := []struct {
		file, old, new, want string
	}{
		{"k8s/service.yaml", "selector: {app.kubernetes.io/name: silt, app.kubernetes.io/component: maintenance}", "selector: {app.kubernetes.io/name: silt}", "selects 2 workloads"},
		{"k8s/service.yaml", "app.kubernetes.io/component: maintenance}\n  ports", "app.kubernetes.io/component: console}\n  ports", "selects 0 workloads"},
		{"k8s/sink-deployment.yaml", "matchLabels: {app.kubernetes.io/name: silt, app.kubernetes.io/component: sink}", "matchLabels: {app.kubernetes.io/name: silt, app.kubernetes.io/component: sinks}", "does not match the pod labels"},
		{"k8s/maintenance-deployment.yaml", "value: 16gb", "value: 1gb", "does not match the cache volume"},
		{"k8s/maintenance-deployment.yaml", "value: 16gb", "value: 20gb", "does not match the cache volume"},
		{"k8s/maintenance-deployment.yaml", "mountPath: /var/cache/silt}", "mountPath: /var/cache/other}", "is not a mounted volume"},
		{"k8s/sink-deployment.yaml", `args: ["sql", "-f", "/etc/silt/tables.sql"]`, `args: ["sql", "-f", "/etc/silt/table.sql"]`, "not a key of a mounted ConfigMap"},
		{"k8s/sink-deployment.yaml", "initContainers:", "initContainerz:", "nothing creates table shop.orders"},
		{"k8s/sink-deployment.yaml", "value: s3://silt/warehouse", "value: s3://other/warehouse", "creates tables in warehouse"},
		{"k8s/configmap.yaml", "CREATE TABLE IF NOT EXISTS shop.orders (", "CREATE TABLE IF NOT EXISTS shop.orderz (", "table shop.orders is not created"},
		{"k8s/configmap.yaml", "CREATE TABLE IF NOT EXISTS shop.orders (", "CREATE TABLE shop.orders (", "IF NOT EXISTS"},
		{"systemd/silt.service", "Environment=SILT_CACHE_DIR=/var/cache/silt", "Environment=SILT_CACHE_DIR=/srv/silt-cache", "not writable"},
		{"systemd/silt.service", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_UNIX", "needs AF_INET"},
		{"systemd/silt.service", "ProtectSystem=strict", "ProtectSystem=strict\nPrivateNetwork=true", "PrivateNetwork"},
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		cases = append(cases, struct{ file, old, new, want string }{"systemd/silt.service", "", oldUnit, "exposure"})
	} else {
		t.Log("systemd-analyze is not installed: the exposure rating is not checked")
	}
	for _, tc := range cases {
		files := readDeploy(t)
		text := string(files[tc.file])
		if tc.old == "" {
			files[tc.file] = []byte(tc.new)
		} else {
			if !strings.Contains(text, tc.old) {
				t.Errorf("%s does not contain %q: update the test", tc.file, tc.old)
				continue
			}
			files[tc.file] = []byte(strings.Replace(text, tc.old, tc.new, 1))
		}
		problems := strings.Join(checkDeploy(files), "\n")
		if !strings.Contains(problems, tc.want) {
			t.Errorf("%s: %q → %q not caught (want a problem naming %q); problems:\n%s", tc.file, tc.old, tc.new, tc.want, problems)
		}
	}
}
