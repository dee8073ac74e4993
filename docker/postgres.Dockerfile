# PostgreSQL 15 with the waypoint extension built in and preloaded.
# Build from the repository root:  docker build -f docker/postgres.Dockerfile -t waypoint-postgres .
# The build runs the same steps as the tests: scripts/install-deps.sh, then make.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh && make JOBS=2 && make -C extension BUILD_DIR=/src/build install DESTDIR=/out

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
      libprotobuf32 libhiredis0.14 libssl3 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY docker/postgres-entrypoint.sh /usr/local/bin/waypoint-postgres-entrypoint
COPY extension/postgresql-sync.conf /usr/local/share/waypoint/postgresql-sync.conf
COPY docker/monitoring/postgres-exporter/role.sql /usr/local/share/waypoint/exporter-role.sql
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=10s --timeout=5s CMD pg_isready -h 127.0.0.1 -p 5432 -U postgres || exit 1
ENTRYPOINT ["waypoint-postgres-entrypoint"]
