#!/usr/bin/env python3
"""A stub Kubernetes API server for bench/kube-wait.sh and bench/deploy.sh: HTTPS, one
Deployment (named by the request's fieldSelector, else "web") and an HPA of that name.

A Deployment LIST returns it not yet rolled out; its WATCH stays silent for HOLD seconds,
then sends the rolled-out object and records the send time (Unix seconds) in SENT_FILE.
The HPA already has CPU metrics.
Usage: kube_api_stub.py PORT CERT KEY HOLD SENT_FILE
"""
import http.server
import json
import ssl
import sys
import time
import urllib.parse

port, cert, key, hold, sent_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]


def hpa(name):
    return {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
            "metadata": {"name": name, "namespace": "bench", "generation": 1, "resourceVersion": "10"},
            "spec": {"minReplicas": 1, "maxReplicas": 10},
            "status": {"observedGeneration": 1, "currentReplicas": 1, "desiredReplicas": 1,
                       "currentMetrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "current": {"averageUtilization": 1, "averageValue": "2m"}}}],
                       "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]}}


def deployment(rv, done, name="web"):
    status = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
              "availableReplicas": 2 if done else 0}
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": "bench", "generation": 1, "resourceVersion": rv},
            "spec": {"replicas": 2}, "status": status}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_list(self, kind, item):
        body = json.dumps({"kind": kind, "metadata": {"resourceVersion": "10"}, "items": [item]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        name = query.get("fieldSelector", ["metadata.name=web"])[0].split("=", 1)[-1]
        watch = "watch=1" in self.path
        if "horizontalpodautoscalers" in self.path:
            if not watch:
                self.send_list("HorizontalPodAutoscalerList", hpa(name))
                return
            self.start_stream()
            time.sleep(hold + 5)
            self.wfile.write(b"0\r\n\r\n")
            return
        if not watch:
            self.send_list("DeploymentList", deployment("10", False, name))
            return
        self.start_stream()
        time.sleep(hold)
        line = (json.dumps({"type": "MODIFIED", "object": deployment("11", True, name)}) + "\n").encode()
        with open(sent_file, "w") as f:
            f.write(repr(time.time()))
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()
        time.sleep(2)
        self.wfile.write(b"0\r\n\r\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
