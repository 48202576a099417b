#!/usr/bin/env bash
# `make demo`: the README's curl walkthrough, against a running server (`make run` in another
# terminal, or API=https://host/api make demo). Needs curl and jq. Each run registers new
# users, so it can be run again and again. Stops at the first answer that is not a success.
set -euo pipefail

API=${API:-http://127.0.0.1:5000/api}
RUN=$(date +%s)$RANDOM   # fresh emails on every run
call() { curl -sS --fail-with-body -H 'Content-Type: application/json' "$@"; echo; }

# Register two users; each answer carries a token.
ALICE=$(call "$API/users" -d "{\"name\":\"Alice\",\"email\":\"alice.$RUN@example.com\",\"password\":\"correct horse\"}" | jq -r .token)
BOB=$(call "$API/users" -d "{\"name\":\"Bob\",\"email\":\"bob.$RUN@example.com\",\"password\":\"battery staple\"}" | jq -r .token)

# Log in again later (same answer shape as registering).
call "$API/users/login" -d "{\"email\":\"alice.$RUN@example.com\",\"password\":\"correct horse\"}"

# Who am I; find Bob's id by his exact email.
call "$API/users/me" -H "Authorization: Bearer $ALICE"
BOB_ID=$(call "$API/users/lookup?email=bob.$RUN@example.com" -H "Authorization: Bearer $ALICE" | jq -r ._id)

# Alice creates a task and assigns it to Bob.
TASK=$(call "$API/tasks" -H "Authorization: Bearer $ALICE" \
  -d '{"title":"Write the release notes","priority":"high","dueDate":"2026-12-01"}' | jq -r ._id)
call -X PATCH "$API/tasks/$TASK/assign" -H "Authorization: Bearer $ALICE" -d "{\"assignedTo\":\"$BOB_ID\"}"

# Alice edits it, only if nobody changed it meanwhile (version 2 after the assignment).
call -X PUT "$API/tasks/$TASK" -H "Authorization: Bearer $ALICE" -H 'If-Match: "2"' -d '{"description":"Cover the new API"}'

# Bob moves it along; he may change its status, not its fields.
call -X PATCH "$API/tasks/$TASK/status" -H "Authorization: Bearer $BOB" -d '{"status":"in-progress"}'

# Lists: paging, filters and sorting.
call "$API/tasks?scope=assigned&status=todo,in-progress&sort=-priority,dueDate" -H "Authorization: Bearer $BOB"

# Alice deletes it (soft), finds it in her trash, restores it.
call -X DELETE "$API/tasks/$TASK" -H "Authorization: Bearer $ALICE"
call "$API/tasks?deleted=true" -H "Authorization: Bearer $ALICE"
call -X PATCH "$API/tasks/$TASK/restore" -H "Authorization: Bearer $ALICE"

# Bob reads his notifications (assigned, updated, deleted, restored) and marks them read.
NOTE=$(call "$API/notifications?unread=true" -H "Authorization: Bearer $BOB" | jq -r '.notifications[0]._id')
call -X PATCH "$API/notifications/$NOTE/read" -H "Authorization: Bearer $BOB"
call -X PATCH "$API/notifications/read-all" -H "Authorization: Bearer $BOB"

# Log out everywhere: every token issued so far stops working (401).
call -X POST "$API/users/logout" -H "Authorization: Bearer $BOB"
curl -s -o /dev/null -w '%{http_code}\n' "$API/users/me" -H "Authorization: Bearer $BOB"

# Probes (outside /api).
call "${API%/api}/healthz"
call "${API%/api}/readyz"
