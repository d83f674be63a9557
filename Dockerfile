# k8s-inference-sim: all four tools in one image; it runs infer-serve by default.
# Base images are arguments so a build without a registry can use local ones.
# The builder's Swift matches the one the project is developed and tested with
# (swift-subprocess needs tools 6.2 or later).
ARG BUILDER_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:12.11-slim
# Where the runtime takes the binaries from: the builder stage, or (in the container
# test, with no registry for the Swift image) an image holding prebuilt ones in /out.
ARG BINARIES=builder

FROM ${BUILDER_IMAGE} AS builder
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjansson-dev libyaml-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
# The manifest names test targets too; SwiftPM wants their folders to load the package.
COPY Sources ./Sources
COPY Tests ./Tests
# One multi-call binary, infer-sim, and a link per tool: the Swift runtime, Foundation
# Essentials and NIO are carried once (four separate static binaries were 91 MB stripped).
RUN swift build -c release --static-swift-stdlib --product infer-sim \
 && mkdir -p /out \
 && install -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/infer-sim" /out/ \
 && strip /out/infer-sim \
 && for tool in infer-serve infer-load infer-stats kube-wait kube-watch hpa-sim; do ln -s infer-sim "/out/$tool"; done

# hadolint ignore=DL3006
FROM ${BINARIES} AS binaries

FROM ${RUNTIME_IMAGE}
# apt's package lists and caches (~75 MB on a base without debian-slim's docker-clean
# setting) leave with the layer that made them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjansson4 libyaml-0-2 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY --from=binaries /out/ /usr/local/bin/
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["infer-serve"]
