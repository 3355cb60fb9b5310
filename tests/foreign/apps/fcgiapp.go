// SPDX-License-Identifier: MIT
// A Go net/http/fcgi app: fcgi.Serve(nil, h) serves the listening socket
// on fd 0 (os.Stdin), as a web server that spawns FastCGI apps starts it.
// Standard library only; built at test time.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"time"
)

func handler(w http.ResponseWriter, r *http.Request) {
	env := fcgi.ProcessEnv(r)
	if ms, err := strconv.Atoi(r.URL.Query().Get("sleep")); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "app=go\npid=%d\nmethod=%s\nx=%s\n", os.Getpid(), r.Method, r.URL.Query().Get("x"))
	fmt.Fprintf(w, "body_len=%d\nbody_sha256=%x\n", len(body), sha256.Sum256(body))
	// net/http/fcgi builds r.URL from REQUEST_URI and keeps SCRIPT_NAME and
	// PATH_INFO to itself: Go apps route on the full path (http.StripPrefix).
	fmt.Fprintf(w, "path=%s\nremote_user=%s\nauth_type=%s\n", r.URL.Path, env["REMOTE_USER"],
		env["AUTH_TYPE"])
}

func main() {
	if err := fcgi.Serve(nil, http.HandlerFunc(handler)); err != nil {
		fmt.Fprintln(os.Stderr, "fcgi.Serve:", err)
		os.Exit(1)
	}
}
