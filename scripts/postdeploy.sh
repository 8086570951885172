#!/bin/sh
# azd postdeploy hook (macOS, Linux): subscribes the blob_intake function to the BlobCreated
# events of the intake container, through the storage account's Event Grid system topic.
#
# It runs after `azd deploy` because the webhook URL carries the app's blobs_extension system
# key, which the Functions host creates only once it has started with the code. Running it again
# updates the subscription in place (for example after the key was renewed). By hand:
#   sh scripts/postdeploy.sh
# The key is a secret: it is never printed, and az's error messages are redacted.
set -eu

FUNCTION_NAME=blob_intake
SUBSCRIPTION_NAME=intake-blob-created
ATTEMPTS=${POSTDEPLOY_ATTEMPTS:-30}
WAIT_SECONDS=${POSTDEPLOY_WAIT_SECONDS:-10}

fail() {
    echo "postdeploy: $*" >&2
    exit 1
}

# Hides the key in anything az prints about the webhook URL.
redact() {
    sed 's/code=[^&" ]*/code=REDACTED/g'
}

# An azd environment value: azd exports them to hooks; by hand, ask azd.
value() {
    current=$(printenv "$1" || true)
    if [ -z "$current" ]; then
        current=$(azd env get-value "$1" 2>/dev/null || true)
    fi
    [ -n "$current" ] || fail "$1 is not set in the azd environment: run 'azd provision' first"
    printf '%s' "$current"
}

for tool in az azd; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (see README.md, Deploy to Azure)"
done

APP_NAME=$(value AZURE_FUNCTION_APP_NAME)
APP_URL=$(value AZURE_FUNCTION_APP_URL)
RESOURCE_GROUP=$(value AZURE_RESOURCE_GROUP)
TOPIC_NAME=$(value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME)
INTAKE_CONTAINER=$(value INTAKE_CONTAINER)

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

echo "Waiting for the blobs_extension key of $APP_NAME (the host creates it when it starts)..."
key=""
attempt=1
while :; do
    # A request wakes an app that has scaled to zero; its answer does not matter.
    if command -v curl >/dev/null 2>&1; then
        curl --silent --output /dev/null --max-time 30 "$APP_URL/api/health" || true
    fi
    if key=$(az functionapp keys list --name "$APP_NAME" --resource-group "$RESOURCE_GROUP" \
        --query "systemKeys.blobs_extension" --output tsv 2>"$errors"); then
        [ -n "$key" ] && break
    fi
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
        redact <"$errors" >&2
        fail "no blobs_extension key after $ATTEMPTS attempts: is the app running? (README.md, Troubleshooting)"
    fi
    attempt=$((attempt + 1))
    sleep "$WAIT_SECONDS"
done

endpoint="$APP_URL/runtime/webhooks/blobs?functionName=Host.Functions.$FUNCTION_NAME&code=$key"

echo "Subscribing $FUNCTION_NAME to BlobCreated events in container '$INTAKE_CONTAINER'..."
attempt=1
# Event Grid validates a new webhook with a handshake, which a cold app can miss: retry.
until az eventgrid system-topic event-subscription create \
    --name "$SUBSCRIPTION_NAME" \
    --resource-group "$RESOURCE_GROUP" \
    --system-topic-name "$TOPIC_NAME" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --included-event-types Microsoft.Storage.BlobCreated \
    --subject-begins-with "/blobServices/default/containers/$INTAKE_CONTAINER/" \
    --output none 2>"$errors"; do
    redact <"$errors" >&2
    [ "$attempt" -lt 3 ] || fail "could not create the Event Grid subscription (README.md, Troubleshooting)"
    attempt=$((attempt + 1))
    sleep "$WAIT_SECONDS"
done
echo "Event Grid subscription '$SUBSCRIPTION_NAME' delivers new blobs in '$INTAKE_CONTAINER' to $FUNCTION_NAME."
