# mailhaul in a container, for deploy/kubernetes (or any engine that runs images):
#   docker build -t mailhaul:0.1.0 .
# Debian 12 to build with meson and install with `meson install`; a Debian 12 runtime with
# only the shared libraries, CA certificates and a non-root user (10001) to run it.
FROM debian:bookworm-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc meson ninja-build pkg-config libglib2.0-dev libssl-dev libcurl4-openssl-dev \
        libjson-c-dev libsecret-1-dev libsqlite3-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build build-san \
    && meson setup build --buildtype=release --prefix=/usr/local \
    && ninja -C build src/mailhaul \
    && meson install -C build --no-rebuild --destdir /out --tags runtime

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libglib2.0-0 libssl3 libcurl4 libjson-c5 libsecret-1-0 \
        libsqlite3-0 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 mailhaul \
    && useradd --uid 10001 --gid 10001 --home-dir /state --no-create-home \
        --shell /usr/sbin/nologin mailhaul
COPY --from=build /out/usr/local/ /usr/local/
USER 10001:10001
WORKDIR /state
ENV HOME=/state
ENTRYPOINT ["mailhaul"]
CMD ["--help"]
