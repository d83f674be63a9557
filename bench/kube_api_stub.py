#!/usr/bin/env python3
"""A strict stub Kubernetes API server (HTTPS) for bench/kube-wait.sh, bench/deploy.sh and
Tests/Deploy/deploy-test.sh. Its objects are the real API responses in
Tests/KubeTests/Fixtures (captured from a v1.36 API server), with name, namespace and
resourceVersion filled in.

It serves one Deployment and one HPA in one namespace, the Deployment's pods and the
(empty) Events of the namespace; pods and events can be watched (bookmarks only):
- every request needs `Authorization: Bearer TOKEN`, else 401 (the real Status);
- another namespace, or another object's name, is a 404 Status naming what was asked
  for (a real server would list another namespace as empty: the stub is loud instead);
- a LIST of deployments or HPAs needs exactly fieldSelector=metadata.name=NAME (as
  kube-wait sends it), else 400 or 404; a watch (watch=1) streams MODIFIED events.

Each object has a story that starts at its LIST (so one stub serves run after run):
the Deployment is just created, and ROLLOUT seconds later complete (or, with
--progress-deadline-exceeded, failed with ProgressDeadlineExceeded); the HPA has no
metrics (ScalingActive False), and HPA_METRICS seconds later it has them (or never).
When the final Deployment is sent, the time (Unix seconds) goes to --sent (the HPA's
final state: --hpa-sent). Every request
is one line in --log: METHOD PATH?QUERY (decoded) STATUS.
"""
import argparse
import copy
import http.server
import json
import os
import ssl
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--cert", required=True, help="the server's certificate (PEM)")
parser.add_argument("--key", required=True, help="its private key (PEM)")
parser.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (0: any free one)")
parser.add_argument("--port-file", help="write the port here once listening")
parser.add_argument("--token", required=True, help="the only bearer token accepted")
parser.add_argument("--namespace", required=True, help="the only namespace that exists")
parser.add_argument("--deployment", required=True, help="the Deployment's name")
parser.add_argument("--hpa", help="the HPA's name (default: the Deployment's)")
parser.add_argument("--rollout", type=float, default=1, help="seconds from LIST to the rollout's end")
parser.add_argument("--progress-deadline-exceeded", action="store_true",
                    help="the rollout ends with ProgressDeadlineExceeded, its pods Unschedulable")
parser.add_argument("--hpa-metrics", default="0", help="seconds from LIST to the HPA's metrics, or 'never'")
parser.add_argument("--sent", help="write the time the final Deployment was sent here")
parser.add_argument("--hpa-sent", help="write the time the HPA's final state was sent (on a watch) here")
parser.add_argument("--log", help="append one line per request here")
parser.add_argument("--fixtures", default=os.path.join(ROOT, "Tests/KubeTests/Fixtures"))
args = parser.parse_args()
args.hpa = args.hpa or args.deployment


def fixture(name):
    with open(os.path.join(args.fixtures, name)) as f:
        return json.load(f)


version_lock = threading.Lock()
last_version = [2000]


def next_version():
    with version_lock:
        last_version[0] += 1
        return last_version[0]


class Story:
    """The versions of one object over time: (seconds after its LIST, object)."""

    def __init__(self, name, states):
        self.name = name
        self.states = states
        self.lock = threading.Lock()
        self.versions = []  # (due time, resourceVersion, object) of the current telling
        self.restart()

    def restart(self):
        """A LIST: the story starts again, with new resourceVersions."""
        with self.lock:
            start, self.versions = time.time(), []
            for offset, template in self.states:
                obj, version = copy.deepcopy(template), next_version()
                obj["metadata"]["resourceVersion"] = str(version)
                self.versions.append((start + offset, version, obj))

    def current(self):
        with self.lock:
            due = [v for v in self.versions if v[0] <= time.time()]
            return due[-1] if due else self.versions[0]

    def after(self, version):
        """The first version newer than `version`, or None."""
        with self.lock:
            return next((v for v in self.versions if v[1] > version), None)


def same_object(states, name):
    """Versions of one object: the first state's identity and spec, this name and namespace."""
    first = states[0][1]
    for _, obj in states:
        meta = obj["metadata"]
        meta["name"], meta["namespace"] = name, args.namespace
        for key in ("uid", "creationTimestamp", "labels"):
            if key in first["metadata"]:
                meta[key] = first["metadata"][key]
        obj["spec"] = copy.deepcopy(first["spec"])
    return states


rollout_end = "deployment-progress-deadline-exceeded.json" if args.progress_deadline_exceeded else "deployment-complete.json"
deployment = Story(args.deployment, same_object(
    [(0, fixture("deployment-just-created.json")), (args.rollout, fixture(rollout_end))], args.deployment))
hpa_states = [(0, fixture("hpa-no-metrics.json"))]
if args.hpa_metrics != "never":
    hpa_states.append((float(args.hpa_metrics), fixture("hpa-with-metrics.json")))
hpa_states[0][1]["spec"]["scaleTargetRef"]["name"] = args.deployment
hpa = Story(args.hpa, same_object(hpa_states, args.hpa))
pod_labels = deployment.states[0][1]["spec"]["selector"]["matchLabels"]

# /apis/GROUP/VERSION/namespaces/NS/RESOURCE by (GROUP, RESOURCE): (story, its list's kind)
RESOURCES = {
    ("apps", "deployments"): (deployment, "DeploymentList"),
    ("autoscaling", "horizontalpodautoscalers"): (hpa, "HorizontalPodAutoscalerList"),
}

log_lock = threading.Lock()


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def not_found(group, resource, name):
    qualified = f"{resource}.{group}" if group else resource
    return status(404, "NotFound", f'{qualified} "{name}" not found',
                  {"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, code):
        if args.log:
            with log_lock, open(args.log, "a") as f:
                f.write(f"{self.command} {urllib.parse.unquote(self.path)} {code}\n")

    def send_json(self, code, body):
        self.record(code)
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.send_json(405, status(405, "MethodNotAllowed", "the stub only answers GET"))

    do_PUT = do_PATCH = do_DELETE = do_POST

    def do_GET(self):
        if self.headers.get("Authorization") != f"Bearer {args.token}":
            self.send_json(401, fixture("status-401.json"))
            return
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        # api/v1/namespaces/NS/pods, apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME]
        core = parts[:2] == ["api", "v1"]
        rest = parts[2:] if core else parts[3:]
        group = "" if core else (parts[1] if len(parts) > 1 else "")
        if len(rest) < 3 or rest[0] != "namespaces":
            self.send_json(404, status(404, "NotFound", "the server could not find the requested resource", {}))
            return
        namespace, resource, name = rest[1], rest[2], (rest[3] if len(rest) > 3 else None)
        if namespace != args.namespace:
            self.send_json(404, not_found("", "namespaces", namespace))
            return
        if core and resource in ("pods", "events") and name is None:
            if query.get("watch") in ("1", "true"):
                self.quiet_watch(query)
            elif resource == "pods":
                self.pods(query)
            else:
                self.send_json(200, {"kind": "EventList", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": str(last_version[0])}, "items": []})
            return
        known = RESOURCES.get((group, resource))
        if known is None or len(rest) > 4:
            self.send_json(404, status(404, "NotFound", "the server could not find the requested resource", {}))
            return
        story, list_kind = known
        if name is None:
            selector = query.get("fieldSelector", "")
            field, _, name = selector.partition("=")
            if field != "metadata.name" or not name:
                self.send_json(400, status(400, "BadRequest",
                               f"stub: list {resource} with fieldSelector=metadata.name=NAME (got {selector!r})"))
                return
        if name != story.name:
            self.send_json(404, not_found(group, resource, name))
            return
        if query.get("watch") in ("1", "true"):
            self.watch(story, query)
        elif "fieldSelector" in query:
            story.restart()
            _, version, obj = story.current()
            self.send_json(200, {"kind": list_kind, "apiVersion": obj["apiVersion"],
                                 "metadata": {"resourceVersion": str(version)}, "items": [obj]})
        else:
            self.send_json(200, story.current()[2])

    def pods(self, query):
        """The Deployment's pods: Ready, or Unschedulable after a missed deadline."""
        source = "pods-unschedulable.json" if args.progress_deadline_exceeded else "pods-ready.json"
        pods = fixture(source)["items"]
        wanted = dict(pair.split("=", 1) for pair in query.get("labelSelector", "").split(",") if "=" in pair)
        for pod in pods:
            pod["metadata"]["namespace"] = args.namespace
            pod["metadata"]["labels"] = {**pod_labels, "pod-template-hash": pod["metadata"]["labels"].get("pod-template-hash", "")}
        matching = [p for p in pods if wanted and all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
        self.send_json(200, {"kind": "PodList", "apiVersion": "v1",
                             "metadata": {"resourceVersion": str(last_version[0])}, "items": matching})

    def watch(self, story, query):
        """Newer versions as MODIFIED events when due; bookmarks; ends at timeoutSeconds."""
        try:
            version = int(query.get("resourceVersion", ""))
        except ValueError:
            self.send_json(400, status(400, "BadRequest", "stub: watch from a LIST's resourceVersion"))
            return
        end = time.time() + float(query.get("timeoutSeconds", "300"))
        bookmarks = query.get("allowWatchBookmarks") == "true"
        self.start_stream()
        try:
            while time.time() < end:
                upcoming = story.after(version)
                # Without a change due, a bookmark every 5 s (also notices a closed stream).
                wake = min(end, upcoming[0] if upcoming else time.time() + 5)
                time.sleep(max(wake - time.time(), 0))
                if upcoming and upcoming[0] <= time.time():
                    version = upcoming[1]
                    self.event({"type": "MODIFIED", "object": upcoming[2]})
                    sent = args.sent if story is deployment else args.hpa_sent
                    if story.after(version) is None and sent:
                        with open(sent, "w") as f:
                            f.write(repr(time.time()))
                elif bookmarks and time.time() < end:
                    kind = story.states[0][1]
                    self.event({"type": "BOOKMARK", "object": {"kind": kind["kind"], "apiVersion": kind["apiVersion"],
                                                               "metadata": {"resourceVersion": str(version)}}})
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client went away (kube-wait exits without closing its watches)

    def start_stream(self):
        """The head of a watch: 200, chunked JSON."""
        self.record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def quiet_watch(self, query):
        """A watch on which nothing changes: a bookmark every 5 s, until timeoutSeconds."""
        end = time.time() + float(query.get("timeoutSeconds", "300"))
        self.start_stream()
        try:
            while time.time() < end:
                time.sleep(max(min(5, end - time.time()), 0))
                if time.time() < end:
                    self.event({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                               "metadata": {"resourceVersion": query.get("resourceVersion", "1")}}})
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def event(self, body):
        line = (json.dumps(body) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", args.port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
if args.port_file:
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
