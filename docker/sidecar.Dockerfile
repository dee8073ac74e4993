# The waypoint sidecar: small runtime image, non-root, with a health check.
# Build from the repository root:  docker build -f docker/sidecar.Dockerfile -t waypoint-sidecar .
# The build runs the same steps as the tests: scripts/install-deps.sh, then the CMake build.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j2 --target waypoint-sidecar && strip build/sidecar/waypoint-sidecar

# Runtime libraries: cpp-httplib is a shared library in Debian (libcpp-httplib0.11, which
# links brotli); CLI11 and nlohmann-json are header-only and need nothing here.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libhiredis0.14 libspdlog1.10 libfmt9 libtomlplusplus3 libssl3 libsodium23 \
      libcpp-httplib0.11 libbrotli1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 waypoint
COPY --from=build /src/build/sidecar/waypoint-sidecar /usr/local/bin/waypoint-sidecar
USER waypoint
ENV WAYPOINT_METRICS_LISTEN=0.0.0.0:9100
EXPOSE 9100
HEALTHCHECK --interval=15s --timeout=5s CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100 && printf "GET /healthz HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q " 200"'
ENTRYPOINT ["waypoint-sidecar"]
