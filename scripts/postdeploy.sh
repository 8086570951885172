#!/bin/sh
# azd postdeploy hook (macOS, Linux). Two jobs, both of which need the deployed app or account:
#  1. Subscribes the blob_intake function to the BlobCreated events of the intake container,
#     through the storage account's Event Grid system topic, with a retry policy and a
#     dead-letter container. It runs after `azd deploy` because the webhook URL carries the app's
#     blobs_extension system key, which the Functions host creates only once it has started with
#     the code. Running it again updates the subscription in place (for example after the key
#     was renewed).
#  2. When this deployment created the AI Services account, sets its Content Understanding
#     defaults (PATCH /contentunderstanding/defaults): which deployment serves each model name and
#     each prebuilt analyzer alias. The app sends the same map with every analysis; the defaults
#     make the prebuilt analyzers work for every other caller too (the Foundry portal, scripts).
#
# Every az call names azd's subscription: the Azure CLI's own default may be another one.
# By hand: sh scripts/postdeploy.sh
# The key and the token are secrets: they are never printed, and az's error messages are redacted.
set -eu

FUNCTION_NAME=blob_intake
SUBSCRIPTION_NAME=intake-blob-created
ATTEMPTS=${POSTDEPLOY_ATTEMPTS:-30}
WAIT_SECONDS=${POSTDEPLOY_WAIT_SECONDS:-10}
# Event Grid's retry policy: give up on an event after this many attempts or minutes, then
# dead-letter it (its defaults are 30 attempts and 1440 minutes, and no dead-lettering).
MAX_DELIVERY_ATTEMPTS=10
EVENT_TTL_MINUTES=1440
CU_API_VERSION=2025-11-01
CU_TOKEN_RESOURCE=https://cognitiveservices.azure.com

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
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (see docs/deployment.md)"
done

SUBSCRIPTION_ID=$(value AZURE_SUBSCRIPTION_ID)
APP_NAME=$(value AZURE_FUNCTION_APP_NAME)
APP_URL=$(value AZURE_FUNCTION_APP_URL)
RESOURCE_GROUP=$(value AZURE_RESOURCE_GROUP)
TOPIC_NAME=$(value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME)
DEAD_LETTER_CONTAINER_ID=$(value AZURE_EVENT_GRID_DEAD_LETTER_CONTAINER_ID)
INTAKE_CONTAINER=$(value INTAKE_CONTAINER)
SET_CU_DEFAULTS=$(value CONTENT_UNDERSTANDING_SET_DEFAULTS)

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
errors="$workdir/errors"

echo "Waiting for the blobs_extension key of $APP_NAME (the host creates it when it starts)..."
key=""
attempt=1
while :; do
    # A request wakes an app that has scaled to zero; its answer does not matter.
    if command -v curl >/dev/null 2>&1; then
        curl --silent --output /dev/null --max-time 30 "$APP_URL/api/health" || true
    fi
    if key=$(az functionapp keys list --subscription "$SUBSCRIPTION_ID" --name "$APP_NAME" \
        --resource-group "$RESOURCE_GROUP" --query "systemKeys.blobs_extension" --output tsv 2>"$errors"); then
        [ -n "$key" ] && break
    fi
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
        redact <"$errors" >&2
        fail "no blobs_extension key after $ATTEMPTS attempts: is the app running? (docs/deployment.md, Troubleshooting)"
    fi
    attempt=$((attempt + 1))
    sleep "$WAIT_SECONDS"
done

endpoint="$APP_URL/runtime/webhooks/blobs?functionName=Host.Functions.$FUNCTION_NAME&code=$key"

echo "Subscribing $FUNCTION_NAME to BlobCreated events in container '$INTAKE_CONTAINER'..."
attempt=1
# Event Grid validates a new webhook with a handshake, which a cold app can miss: retry.
until az eventgrid system-topic event-subscription create \
    --subscription "$SUBSCRIPTION_ID" \
    --name "$SUBSCRIPTION_NAME" \
    --resource-group "$RESOURCE_GROUP" \
    --system-topic-name "$TOPIC_NAME" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --included-event-types Microsoft.Storage.BlobCreated \
    --subject-begins-with "/blobServices/default/containers/$INTAKE_CONTAINER/" \
    --max-delivery-attempts "$MAX_DELIVERY_ATTEMPTS" \
    --event-ttl "$EVENT_TTL_MINUTES" \
    --deadletter-identity systemassigned \
    --deadletter-identity-endpoint "$DEAD_LETTER_CONTAINER_ID" \
    --output none 2>"$errors"; do
    redact <"$errors" >&2
    [ "$attempt" -lt 3 ] || fail "could not create the Event Grid subscription (docs/deployment.md, Troubleshooting)"
    attempt=$((attempt + 1))
    sleep "$WAIT_SECONDS"
done
echo "Event Grid subscription '$SUBSCRIPTION_NAME' delivers new blobs in '$INTAKE_CONTAINER' to $FUNCTION_NAME."

if [ "$SET_CU_DEFAULTS" != "true" ]; then
    echo "Content Understanding defaults left as they are (an existing AI Services account)."
    exit 0
fi

command -v curl >/dev/null 2>&1 || fail "curl is not installed (needed to set the Content Understanding defaults)"
CU_ENDPOINT=$(value AZURE_AI_SERVICES_ENDPOINT)
MODEL_DEPLOYMENTS=$(value CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS)
defaults_url="${CU_ENDPOINT%/}/contentunderstanding/defaults?api-version=$CU_API_VERSION"

echo "Setting the Content Understanding defaults of $CU_ENDPOINT (model and alias -> deployment)..."
token=$(az account get-access-token --subscription "$SUBSCRIPTION_ID" --resource "$CU_TOKEN_RESOURCE" \
    --query accessToken --output tsv 2>"$errors") || {
    cat "$errors" >&2
    fail "could not get a token for Content Understanding: run 'az login'"
}
# The token goes to curl in a file, never on a command line that other processes can read.
(umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$workdir/auth")
printf '{"modelDeployments":%s}' "$MODEL_DEPLOYMENTS" >"$workdir/defaults.json"

attempt=1
while :; do
    status=$(curl --silent --show-error --max-time 60 --request PATCH \
        --header @"$workdir/auth" --header "Content-Type: application/merge-patch+json" \
        --data-binary @"$workdir/defaults.json" --output "$workdir/response" \
        --write-out '%{http_code}' "$defaults_url" 2>"$errors") || status=000
    case "$status" in
    2??)
        echo "Content Understanding defaults set: $MODEL_DEPLOYMENTS"
        exit 0
        ;;
    401 | 403)
        # Data-plane access for the deployer is opt-in (AZURE_GRANT_DEPLOYER_ROLES); the app
        # itself sends the same map with every analysis, so it works without these defaults.
        echo "postdeploy: warning: not allowed to set the Content Understanding defaults (HTTP $status)." >&2
        echo "postdeploy: the app is unaffected; for other callers, see docs/deployment.md (Content Understanding defaults)." >&2
        exit 0
        ;;
    esac
    cat "$errors" "$workdir/response" >&2 2>/dev/null || true
    [ "$attempt" -lt 3 ] || fail "could not set the Content Understanding defaults (HTTP $status)"
    attempt=$((attempt + 1))
    sleep "$WAIT_SECONDS"
done
