package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/server"
	"go.yaml.in/yaml/v3"
)

// The deploy/ assets (docker-compose, Kubernetes manifests, systemd unit,
// Dockerfile, Grafana dashboard, example config) are checked against the
// binary: every command line's subcommand and flags exist (`silt CMD -h`),
// every config parses, ports and probe paths match what the config makes
// silt serve listen on and answer, every SILT_* variable is a setting,
// secrets come from Secrets, and every metric a dashboard queries is one
// silt exports. The metrics reference (docs/operations.md) and the serve
// settings (docs/configuration.md) are checked the same way.

// deployChecker collects the problems of a set of assets.
type deployChecker struct {
	files    map[string][]byte // path relative to deploy/ → content
	problems []string
	helps    map[string]string
	mu       sync.Mutex
}

func (c *deployChecker) problem(where, format string, args ...any) {
	c.problems = append(c.problems, where+": "+fmt.Sprintf(format, args...))
}

// help returns `silt sub -h`'s output ("" and a problem if sub is not a
// command).
func (c *deployChecker) help(sub string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.helps[sub]; ok {
		return h, h != ""
	}
	out, err := exec.Command(siltBin, sub, "-h").CombinedOutput()
	h := string(out)
	if err != nil || strings.Contains(h, "unknown command") {
		h = ""
	}
	c.helps[sub] = h
	return h, h != ""
}

var helpFlag = regexp.MustCompile(`(?m)^\s+-([a-z0-9][a-z0-9-]*)`)

// checkArgv checks a silt command line (without the binary).
func (c *deployChecker) checkArgv(where string, argv []string) {
	if len(argv) == 0 {
		c.problem(where, "empty silt command line")
		return
	}
	sub := argv[0]
	h, ok := c.help(sub)
	if !ok {
		c.problem(where, "silt has no command %q", sub)
		return
	}
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(h, -1) {
		flags[m[1]] = true
	}
	for _, a := range argv[1:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !flags[name] {
			c.problem(where, "silt %s has no flag --%s", sub, name)
		}
	}
}

// flagValue returns the value of --name in argv.
func flagValue(argv []string, name string) (string, bool) {
	for i, a := range argv {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(argv) {
				return argv[i+1], true
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// serveSetup is what a silt serve command line will listen on and how
// long it may take to stop.
type serveSetup struct {
	port     int
	shutdown time.Duration
}

// loadConfig parses a silt serve config asset and applies argv's flags.
func (c *deployChecker) loadConfig(where, name string, data []byte, argv []string) (serveSetup, bool) {
	flags := map[string]string{}
	for _, s := range server.Settings() {
		if v, ok := flagValue(argv, s.Key); ok && !s.EnvOnly {
			flags[s.Key] = v
		}
	}
	cfg, err := server.Load(server.Sources{File: name, Data: data, Flags: flags})
	if err != nil {
		c.problem(where, "config does not load: %v", err)
		return serveSetup{}, false
	}
	_, port, _ := net.SplitHostPort(cfg.Listen)
	p, _ := strconv.Atoi(port)
	return serveSetup{port: p, shutdown: cfg.ShutdownTimeout}, true
}

var knownEnv = map[string]bool{"SILT_CONFIG": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
	"AWS_SESSION_TOKEN": true, "AWS_REGION": true}

func (c *deployChecker) checkEnvName(where, name string) {
	if strings.HasPrefix(name, "SILT_") || strings.HasPrefix(name, "AWS_") {
		if knownEnv[name] || kafkaEnv[name] {
			return
		}
		for _, s := range server.Settings() {
			if s.Env() == name {
				return
			}
		}
		c.problem(where, "environment variable %s is not a silt setting", name)
	}
}

func isRoute(p string) bool { return slices.Contains(server.Routes(), p) }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }
func asString(v any) string      { s, _ := v.(string); return s }
func strList(v any) (out []string) {
	for _, e := range asList(v) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func (c *deployChecker) run() []string {
	for name := range c.files {
		switch {
		case name == "Dockerfile":
			c.checkDockerfile(name)
		case name == "docker-compose.yml":
			c.checkCompose(name)
		case strings.HasPrefix(name, "k8s/") && strings.HasSuffix(name, ".yaml"):
			// checked together below
		case strings.HasSuffix(name, ".service"):
			c.checkSystemd(name)
		case strings.HasSuffix(name, ".json"):
			c.checkDashboard(name)
		case name == "silt.yaml":
			c.loadConfig(name, name, c.files[name], nil)
		default:
			c.problem(name, "no check knows this asset: add one to deploy_test.go")
		}
	}
	c.checkKubernetes()
	slices.Sort(c.problems)
	return c.problems
}

func (c *deployChecker) checkDockerfile(name string) {
	var entry, cmd []string
	exposed := 0
	for i, line := range strings.Split(string(c.files[name]), "\n") {
		where := fmt.Sprintf("%s:%d", name, i+1)
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "EXPOSE":
			exposed, _ = strconv.Atoi(strings.TrimSuffix(f[1], "/tcp"))
			if s, _ := c.loadConfig(where, "default", nil, nil); exposed != s.port {
				c.problem(where, "EXPOSE %d, but silt serve listens on %d by default", exposed, s.port)
			}
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[len(f[0]):])), &argv); err != nil {
				c.problem(where, "%s is not an exec-form JSON list: %v", f[0], err)
				continue
			}
			if f[0] == "ENTRYPOINT" {
				entry = argv
			} else {
				cmd = argv
			}
		case "RUN":
			if strings.Contains(line, "go build") {
				if m := regexp.MustCompile(`\./cmd/[a-z]+`).FindString(line); m == "" || !dirExists("../../"+m) {
					c.problem(where, "go build of %q: no such package", m)
				}
			}
		}
	}
	if len(entry) != 1 || path.Base(entry[0]) != "silt" {
		c.problem(name, "ENTRYPOINT should be the silt binary, got %v", entry)
	}
	if !strings.Contains(string(c.files[name]), "COPY --from=build /out/silt "+entry[0]) {
		c.problem(name, "ENTRYPOINT %v is not where the binary is copied", entry)
	}
	c.checkArgv(name+" CMD", cmd)
	if exposed == 0 {
		c.problem(name, "no EXPOSE")
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func (c *deployChecker) checkCompose(name string) {
	var doc map[string]any
	if err := yaml.Unmarshal(c.files[name], &doc); err != nil {
		c.problem(name, "YAML: %v", err)
		return
	}
	services := asMap(doc["services"])
	if len(services) == 0 {
		c.problem(name, "no services")
	}
	kinds := map[string]bool{}
	for sname, sv := range services {
		svc := asMap(sv)
		where := name + " service " + sname
		img := asString(svc["image"])
		switch {
		case strings.Contains(img, "minio"):
			kinds["minio"] = true
		case strings.Contains(img, "kafka") || strings.Contains(img, "redpanda"):
			kinds["kafka"] = true
		}
		build := asMap(svc["build"])
		if asString(build["dockerfile"]) == "" {
			continue
		}
		if _, ok := c.files[strings.TrimPrefix(asString(build["dockerfile"]), "deploy/")]; !ok {
			c.problem(where, "dockerfile %s is not in deploy/", build["dockerfile"])
		}
		argv := strList(svc["command"])
		c.checkArgv(where, argv)
		for k := range asMap(svc["environment"]) {
			c.checkEnvName(where, k)
		}
		if len(argv) == 0 || argv[0] != "serve" {
			continue
		}
		kinds["silt serve"] = true
		mounts := map[string]string{} // container path → host file
		for _, v := range strList(svc["volumes"]) {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				mounts[parts[1]] = strings.TrimPrefix(parts[0], "./")
			}
		}
		cfgPath, _ := flagValue(argv, "config")
		host, ok := mounts[cfgPath]
		if !ok {
			c.problem(where, "--config %s is not a mounted file", cfgPath)
			continue
		}
		data, ok := c.files[host]
		if !ok {
			c.problem(where, "mounted config %s is not in deploy/", host)
			continue
		}
		setup, ok := c.loadConfig(where, host, data, argv)
		if !ok {
			continue
		}
		published := false
		for _, p := range strList(svc["ports"]) {
			parts := strings.Split(p, ":")
			if parts[len(parts)-1] == strconv.Itoa(setup.port) {
				published = true
			}
		}
		if !published {
			c.problem(where, "ports %v do not publish the listen port %d", svc["ports"], setup.port)
		}
		if d, err := time.ParseDuration(asString(svc["stop_grace_period"])); err != nil || d <= setup.shutdown {
			c.problem(where, "stop_grace_period %v must exceed shutdown-timeout %s", svc["stop_grace_period"], setup.shutdown)
		}
	}
	for _, k := range []string{"minio", "kafka", "silt serve"} {
		if !kinds[k] {
			c.problem(name, "no %s service", k)
		}
	}
}

func (c *deployChecker) checkSystemd(name string) {
	text := string(c.files[name])
	var argv []string
	var stop time.Duration
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ExecStart":
			f := strings.Fields(v)
			if path.Base(f[0]) != "silt" {
				c.problem(name, "ExecStart runs %s, not silt", f[0])
			}
			argv = f[1:]
		case "TimeoutStopSec":
			n, _ := strconv.Atoi(v)
			stop = time.Duration(n) * time.Second
		case "Environment":
			envName, _, _ := strings.Cut(v, "=")
			c.checkEnvName(name, envName)
		}
	}
	c.checkArgv(name+" ExecStart", argv)
	if slices.Contains(argv, "serve") {
		s, _ := c.loadConfig(name, "flags", nil, argv)
		if s.port != 9090 {
			c.problem(name, "listens on %d, the other assets on 9090", s.port)
		}
		if stop <= s.shutdown {
			c.problem(name, "TimeoutStopSec %s must exceed shutdown-timeout %s", stop, s.shutdown)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") && regexp.MustCompile(`(?i)secret_access_key\s*=`).MatchString(line) {
			c.problem(name, "a secret in the unit file: use EnvironmentFile")
		}
	}
	c.checkSystemdHardening(name)
}

var metricRef = regexp.MustCompile(`\bsilt_[a-z0-9_]+`)

// checkMetricRefs checks every silt_* name in text against the binary's.
func (c *deployChecker) checkMetricRefs(where, text string) map[string]bool {
	known := map[string]bool{}
	for _, n := range server.MetricNames() {
		known[n] = true
	}
	used := map[string]bool{}
	for _, m := range metricRef.FindAllString(text, -1) {
		base := m
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			c.problem(where, "metric %s is not exported by silt serve", m)
		}
		used[base] = true
	}
	return used
}

// dashboardMust are the metrics that answer an operator's usual questions
// (distance to the write stall, bytes per tier, snapshots, backlog,
// amplification, commit latency, cache, sink lag and freshness, lifecycle,
// recovery time); the dashboard must chart each.
var dashboardMust = []string{
	"silt_bucket_sorted_runs", "silt_bucket_sorted_runs_until_stall", "silt_table_bytes", "silt_table_files",
	"silt_table_snapshots", "silt_table_oldest_snapshot_age_seconds", "silt_table_compaction_backlog_buckets",
	"silt_compaction_written_bytes_total", "silt_table_write_amplification_ratio", "silt_table_space_amplification_ratio",
	"silt_sink_commit_duration_seconds", "silt_sink_commits_fenced_total", "silt_cache_hit_ratio", "silt_sink_lag_records",
	"silt_sink_freshness_seconds", "silt_sink_dlq_records_total", "silt_maintenance_snapshots_expired_total",
	"silt_maintenance_orphans_deleted_total", "silt_startup_duration_seconds",
}

func (c *deployChecker) checkDashboard(name string) {
	var d map[string]any
	if err := json.Unmarshal(c.files[name], &d); err != nil {
		c.problem(name, "JSON: %v", err)
		return
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "expr" || k == "query") {
					exprs = append(exprs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(d)
	if len(exprs) == 0 {
		c.problem(name, "no queries")
	}
	used := c.checkMetricRefs(name, strings.Join(exprs, "\n"))
	for _, m := range dashboardMust {
		if !used[m] {
			c.problem(name, "no panel charts %s", m)
		}
	}
}

// checkKubernetes checks the manifests together (configs are in a
// ConfigMap, ports are named in containers).
func (c *deployChecker) checkKubernetes() {
	configMaps := map[string]map[string]string{}
	type workload struct {
		where string
		obj   map[string]any
	}
	var workloads []workload
	var objs []k8sObject
	kinds := map[string]bool{}
	for name, data := range c.files {
		if !strings.HasPrefix(name, "k8s/") {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if err.Error() != "EOF" {
					c.problem(name, "YAML: %v", err)
				}
				break
			}
			if obj == nil {
				continue
			}
			kind := asString(obj["kind"])
			kinds[kind] = true
			where := name + " " + kind + " " + asString(asMap(obj["metadata"])["name"])
			objs = append(objs, k8sObject{where, obj})
			switch kind {
			case "ConfigMap":
				m := map[string]string{}
				for k, v := range asMap(obj["data"]) {
					m[k] = asString(v)
				}
				configMaps[asString(asMap(obj["metadata"])["name"])] = m
			case "Deployment", "StatefulSet", "CronJob", "Job":
				workloads = append(workloads, workload{where, obj})
			case "Service":
			default:
				c.problem(where, "no check knows kind %s", kind)
			}
		}
	}
	for _, k := range []string{"ConfigMap", "Deployment"} {
		if !kinds[k] {
			c.problem("k8s/", "no %s", k)
		}
	}
	secretRefs := 0
	for _, w := range workloads {
		spec := asMap(asMap(asMap(w.obj["spec"])["template"])["spec"])
		if asString(w.obj["kind"]) == "CronJob" {
			spec = asMap(asMap(asMap(asMap(asMap(w.obj["spec"])["jobTemplate"])["spec"])["template"])["spec"])
		}
		annotations := asMap(asMap(asMap(asMap(w.obj["spec"])["template"])["metadata"])["annotations"])
		volumes := map[string]string{} // volume name → configMap name
		for _, v := range asList(spec["volumes"]) {
			if cm := asMap(asMap(v)["configMap"]); cm != nil {
				volumes[asString(asMap(v)["name"])] = asString(cm["name"])
			}
		}
		grace, _ := spec["terminationGracePeriodSeconds"].(int)
		for _, ct := range asList(spec["containers"]) {
			ctr := asMap(ct)
			where := w.where + " container " + asString(ctr["name"])
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
				n := asString(env["name"])
				c.checkEnvName(where, n)
				if strings.HasPrefix(n, "AWS_") && n != "AWS_REGION" {
					if asMap(asMap(env["valueFrom"])["secretKeyRef"]) == nil {
						c.problem(where, "%s must come from a Secret (valueFrom.secretKeyRef)", n)
					} else {
						secretRefs++
					}
				}
			}
			if asMap(asMap(ctr["resources"])["requests"]) == nil {
				c.problem(where, "no resource requests")
			}
			if len(argv) == 0 || argv[0] != "serve" {
				continue
			}
			cfgPath, ok := flagValue(argv, "config")
			if !ok {
				c.problem(where, "silt serve without --config")
				continue
			}
			var data string
			found := false
			for _, vm := range asList(ctr["volumeMounts"]) {
				m := asMap(vm)
				if cm, ok := volumes[asString(m["name"])]; ok && path.Dir(cfgPath) == asString(m["mountPath"]) {
					data, found = configMaps[cm][path.Base(cfgPath)]
				}
			}
			if !found {
				c.problem(where, "--config %s is not a key of a mounted ConfigMap", cfgPath)
				continue
			}
			setup, ok := c.loadConfig(where, cfgPath, []byte(data), argv)
			if !ok {
				continue
			}
			ports := map[string]int{}
			for _, p := range asList(ctr["ports"]) {
				pm := asMap(p)
				n, _ := pm["containerPort"].(int)
				ports[asString(pm["name"])] = n
				if n != setup.port {
					c.problem(where, "containerPort %d, but the config listens on %d", n, setup.port)
				}
			}
			for _, probe := range []string{"livenessProbe", "readinessProbe"} {
				get := asMap(asMap(ctr[probe])["httpGet"])
				if get == nil {
					c.problem(where, "no %s.httpGet", probe)
					continue
				}
				if p := asString(get["path"]); !isRoute(p) || p == "/" {
					c.problem(where, "%s path %q is not a health endpoint of silt serve", probe, p)
				}
				port, isNum := get["port"].(int)
				if !isNum {
					port = ports[asString(get["port"])]
				}
				if port != setup.port {
					c.problem(where, "%s port %v is not the listen port %d", probe, get["port"], setup.port)
				}
			}
			if p := asString(annotations["prometheus.io/port"]); p != "" && p != strconv.Itoa(setup.port) {
				c.problem(w.where, "prometheus.io/port %s, but silt listens on %d", p, setup.port)
			}
			if p := asString(annotations["prometheus.io/path"]); p != "" && p != server.PathMetrics {
				c.problem(w.where, "prometheus.io/path %s is not %s", p, server.PathMetrics)
			}
			if time.Duration(grace)*time.Second <= setup.shutdown {
				c.problem(w.where, "terminationGracePeriodSeconds %d must exceed shutdown-timeout %s", grace, setup.shutdown)
			}
		}
	}
	if secretRefs == 0 {
		c.problem("k8s/", "no S3 credentials from a Secret")
	}
	c.checkK8sStartup(objs, configMaps)
}

func readDeploy(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	root := filepath.Join("..", "..", "deploy")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func checkDeploy(files map[string][]byte) []string {
	c := &deployChecker{files: files, helps: map[string]string{}}
	return c.run()
}

func TestDeployAssetsMatchBinary(t *testing.T) {
	files := readDeploy(t)
	for _, want := range []string{"Dockerfile", "docker-compose.yml", "silt.yaml", "k8s/configmap.yaml", "systemd/silt.service", "grafana/silt-dashboard.json"} {
		if _, ok := files[want]; !ok {
			t.Errorf("deploy/%s is missing", want)
		}
	}
	for _, p := range checkDeploy(files) {
		t.Error(p)
	}
}

// TestDeployDriftDetected: each kind of drift is caught.
func TestDeployDriftDetected(t *testing.T) {
	for _, tc := range []struct {
		file, old, new, want string
	}{
		{"grafana/silt-dashboard.json", "silt_table_snapshots", "silt_table_snapshot_count", "silt_table_snapshot_count"},
		{"k8s/sink-deployment.yaml", `"--config"`, `"--conf"`, "no flag --conf"},
		{"k8s/sink-deployment.yaml", "path: /readyz", "path: /ready", `"/ready"`},
		{"k8s/configmap.yaml", `listen: ":9090"`, `listen: ":9191"`, "listens on 9191"},
		{"k8s/configmap.yaml", "compact-interval: 0s", "compact-every: 0s", `unknown key "compact-every"`},
		{"k8s/maintenance-deployment.yaml", "name: SILT_CACHE_DIR", "name: SILT_CACHE_DIRECTORY", "SILT_CACHE_DIRECTORY"},
		{"k8s/maintenance-deployment.yaml", "valueFrom: {secretKeyRef: {name: silt-s3, key: secret-access-key}}", "value: hunter2", "from a Secret"},
		{"docker-compose.yml", `command: ["serve"`, `command: ["server"`, `no command "server"`},
		{"docker-compose.yml", `ports: ["9090:9090"]`, `ports: ["8080:8080"]`, "do not publish"},
		{"Dockerfile", "EXPOSE 9090", "EXPOSE 8080", "EXPOSE 8080"},
		{"systemd/silt.service", "--listen 127.0.0.1:9090", "--listen-addr 127.0.0.1:9090", "no flag --listen-addr"},
		{"systemd/silt.service", "TimeoutStopSec=45", "TimeoutStopSec=10", "TimeoutStopSec"},
	} {
		files := readDeploy(t)
		text := string(files[tc.file])
		if !strings.Contains(text, tc.old) {
			t.Errorf("%s does not contain %q: update the test", tc.file, tc.old)
			continue
		}
		files[tc.file] = []byte(strings.Replace(text, tc.old, tc.new, 1))
		problems := strings.Join(checkDeploy(files), "\n")
		if !strings.Contains(problems, tc.want) {
			t.Errorf("%s: %q → %q not caught (want a problem naming %q); problems:\n%s", tc.file, tc.old, tc.new, tc.want, problems)
		}
	}
}

// TestDocsOperatingReference: docs/operations.md documents every metric
// and names no metric silt does not export, and the "silt serve settings"
// section of docs/configuration.md documents every setting with its
// environment variable.
func TestDocsOperatingReference(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	ops := read("operations.md")
	conf := read("configuration.md")
	i := strings.Index(conf, "## silt serve settings")
	if i < 0 {
		t.Fatal(`docs/configuration.md has no "## silt serve settings" section`)
	}
	settings := conf[i:]
	if j := strings.Index(settings[3:], "\n## "); j >= 0 {
		settings = settings[:j+3]
	}
	c := &deployChecker{helps: map[string]string{}}
	used := c.checkMetricRefs("docs/operations.md", ops)
	for _, n := range server.MetricNames() {
		if !used[n] {
			c.problem("docs/operations.md", "metric %s is not in the metrics reference", n)
		}
	}
	for _, s := range server.Settings() {
		if !strings.Contains(settings, "`"+s.Key+"`") || !strings.Contains(settings, s.Env()) {
			c.problem("docs/configuration.md", "setting %s (%s) is not in the silt serve settings", s.Key, s.Env())
		}
	}
	for _, p := range c.problems {
		t.Error(p)
	}
}
