# pocketshop in a container: one static binary (storefront and migrations
# are compiled in), running as a non-root user, data in the /pb_data volume.
#
#   docker build -t pocketshop .
#   docker run -d --name shop -p 8090:8090 -v shop-data:/pb_data \
#     --env-file pocketshop.env --stop-timeout 30 pocketshop
#
# Put it behind Caddy or nginx for HTTPS (README, "Deploy").

# --- build: the same command as `make build` ---
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/pocketshop .

# --- run ---
FROM alpine:3.22
# busybox wget is for the HEALTHCHECK; CA certificates for Stripe and SMTP.
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 pocketshop \
 && adduser -S -D -H -u 10001 -G pocketshop -h /pb_data pocketshop \
 && mkdir /pb_data && chown pocketshop:pocketshop /pb_data
COPY --from=build /out/pocketshop /usr/local/bin/pocketshop
USER pocketshop:pocketshop
VOLUME /pb_data
EXPOSE 8090
# SIGTERM lets requests in flight finish (up to 10 s) before the exit.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8090/api/health || exit 1
ENTRYPOINT ["pocketshop", "--dir=/pb_data"]
CMD ["serve", "--http=0.0.0.0:8090"]
