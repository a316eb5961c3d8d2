# leechsim with libtorrent (PyPI wheel) and opentracker (Debian), entry point `leechsim`.
#
#   docker build -t leechsim .
#   docker run --rm --network none leechsim lab examples/lab-small.toml --runs 1
#
# Behind an HTTPS-intercepting proxy, hand the proxy's CA bundle in as an optional BuildKit secret
# (it is used for pip only and never stored in a layer):
#   DOCKER_BUILDKIT=1 docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t leechsim .
# (No "# syntax=" line on purpose: the built-in Dockerfile frontend suffices, so building does not
# need to pull a frontend image from a registry.)
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv opentracker tcpdump ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/leechsim
COPY . /src
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/leechsim/bin/pip install /src \
 && mkdir -p /work && cp -r /src/examples /work/examples

ENV PATH=/opt/leechsim/bin:$PATH
WORKDIR /work
ENTRYPOINT ["leechsim"]
CMD ["--help"]
