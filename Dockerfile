# k8s-inference-sim: all four tools in one image; it runs infer-serve by default.
# Base images are arguments so a build without a registry can use local ones.
ARG BUILDER_IMAGE=swift:6.1.2-bookworm
ARG RUNTIME_IMAGE=debian:12.11-slim
# Where the runtime takes the binaries from: the builder stage, or (in the container
# test, with no registry for the Swift image) an image holding prebuilt ones in /out.
ARG BINARIES=builder

FROM ${BUILDER_IMAGE} AS builder
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjansson-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib \
 && mkdir -p /out \
 && for tool in infer-serve infer-load infer-stats kube-wait; do \
      install -m 0755 "$(swift build -c release --show-bin-path)/$tool" /out/ && strip /out/"$tool"; \
    done

# hadolint ignore=DL3006
FROM ${BINARIES} AS binaries

FROM ${RUNTIME_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjansson4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binaries /out/ /usr/local/bin/
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["infer-serve"]
