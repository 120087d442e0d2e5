// Command openloop sends HTTP POSTs at a constant rate, whatever the server does (open loop).
//
//	openloop -url URL -body FILE -rate 500 -duration 60s [-timeout 10s]
//
// Call i is due at start + i/rate. Its latency is counted from that due time, not from when a
// socket got to send it, so a stalled server (or a late generator) shows in the percentiles
// instead of silently lowering the rate: no coordinated omission (the method of wrk2, which
// Debian does not package; its wrk is closed-loop only). Every call has its own connection and
// sends "Connection: close", as gunicorn's sync workers answer anyway; nothing caps the calls in
// flight, so a slow server gets more of them, never fewer.
//
// Each body gets a fresh UUID where the file says [<id>], so every call is a new CDS Hooks
// hookInstance. One JSON object on stdout; latencies in milliseconds. Standard library only.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type outcome struct {
	latency time.Duration
	status  int
	err     string
}

func main() {
	target := flag.String("url", "", "URL to POST to")
	bodyFile := flag.String("body", "", "file with the request body; [<id>] becomes a fresh UUID")
	rate := flag.Float64("rate", 0, "calls per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 10*time.Second, "per call, from its due time")
	flag.Parse()
	if *target == "" || *bodyFile == "" || *rate <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	u, err := url.Parse(*target)
	if err != nil {
		fail(err)
	}
	template, err := os.ReadFile(*bodyFile)
	if err != nil {
		fail(err)
	}
	head, tail, hasID := bytes.Cut(template, []byte("[<id>]"))
	path := u.RequestURI()

	results := make(chan outcome, 4096)
	var collected []outcome
	collectorDone := make(chan struct{})
	go func() {
		for r := range results {
			collected = append(collected, r)
		}
		close(collectorDone)
	}()

	var wg sync.WaitGroup
	var inFlight, maxInFlight int64
	var mu sync.Mutex
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	sent := 0
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= *duration {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		body := template
		if hasID {
			body = append(append(append(make([]byte, 0, len(template)+36), head...), uuid()...), tail...)
		}
		request := append([]byte(fmt.Sprintf(
			"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"Content-Length: %d\r\nConnection: close\r\n\r\n", path, u.Host, len(body))), body...)
		sent++
		mu.Lock()
		inFlight++
		if inFlight > maxInFlight {
			maxInFlight = inFlight
		}
		mu.Unlock()
		wg.Add(1)
		go func(due time.Time, request []byte) {
			defer wg.Done()
			r := call(u.Host, request, due, *timeout)
			mu.Lock()
			inFlight--
			mu.Unlock()
			results <- r
		}(due, request)
	}
	wg.Wait()
	close(results)
	<-collectorDone
	wall := time.Since(start).Seconds()
	report(*target, *rate, duration.Seconds(), sent, collected, maxInFlight, wall)
}

// call sends one request on its own connection and reads to EOF; the status line is all it parses.
func call(host string, request []byte, due time.Time, timeout time.Duration) outcome {
	deadline := due.Add(timeout)
	conn, err := net.DialTimeout("tcp", host, time.Until(deadline))
	if err != nil {
		return outcome{err: kind(err, "connect")}
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write(request); err != nil {
		return outcome{err: kind(err, "write")}
	}
	buf := make([]byte, 16384)
	status := 0
	got := 0
	for {
		n, err := conn.Read(buf)
		if status == 0 && got == 0 && n >= 12 {
			status, _ = strconv.Atoi(string(buf[9:12])) // "HTTP/1.1 200 OK"
		}
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return outcome{err: kind(err, "read")}
		}
	}
	if status == 0 {
		return outcome{err: "no response"}
	}
	return outcome{latency: time.Since(due), status: status}
}

func kind(err error, stage string) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "timeout"
	}
	return stage + " error"
}

func uuid() []byte {
	a, b := rand.Uint64(), rand.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12)
	b = (b &^ (0x3 << 62)) | (0x2 << 62)
	return []byte(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff))
}

func report(target string, rate, seconds float64, sent int, got []outcome, maxInFlight int64, wall float64) {
	var latencies []float64
	statuses := map[string]int{}
	errors := map[string]int{}
	non2xx, errorCount := 0, 0
	for _, r := range got {
		if r.err != "" {
			errors[r.err]++
			errorCount++
			continue
		}
		statuses[strconv.Itoa(r.status)]++
		if r.status < 200 || r.status > 299 {
			non2xx++
		}
		latencies = append(latencies, float64(r.latency.Microseconds())/1000)
	}
	sort.Float64s(latencies)
	pct := func(q float64) any {
		if len(latencies) == 0 {
			return nil
		}
		i := int(q * float64(len(latencies)))
		if i >= len(latencies) {
			i = len(latencies) - 1
		}
		return latencies[i]
	}
	mean := 0.0
	for _, l := range latencies {
		mean += l
	}
	if len(latencies) > 0 {
		mean /= float64(len(latencies))
	}
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	cpu := float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
	out := map[string]any{
		"tool":        "openloop",
		"url":         target,
		"target_rate": rate,
		"duration_s":  seconds,
		"sent":        sent,
		"completed":   len(got),
		"sent_rate":   float64(sent) / seconds,
		"throughput":  float64(len(latencies)) / wall,
		"latency_ms": map[string]any{
			"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "p999": pct(0.999),
			"max": pct(1.0), "mean": mean,
		},
		"statuses":      statuses,
		"non2xx":        non2xx,
		"errors":        errors,
		"error_count":   errorCount,
		"max_in_flight": maxInFlight,
		"cpu_s":         cpu,
		"wall_s":        wall,
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "openloop:", err)
	os.Exit(2)
}
