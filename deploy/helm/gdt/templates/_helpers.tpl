{{/* Names and labels. */}}
{{- define "gdt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gdt.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gdt.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gdt.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: github-deployment-tracker
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "gdt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gdt.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component; call with (dict "root" $ "component" "worker"). */}}
{{- define "gdt.componentLabels" -}}
{{ include "gdt.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gdt.componentSelectorLabels" -}}
{{ include "gdt.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The Prometheus job the project's alerts expect: gdt-worker for the worker, gdt-serve for
the API (deploy/prometheus/gdt-alerts.yml). Set as the label `gdt/prometheus-job` on pods and
Services; the ServiceMonitors use it as their jobLabel. */}}
{{- define "gdt.prometheusJob" -}}
{{- if eq . "worker" }}gdt-worker{{ else }}gdt-serve{{ end -}}
{{- end -}}

{{- define "gdt.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gdt.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gdt.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Where config.yaml is mounted: the last of gdt's default search paths, and GDT_CONFIG. */}}
{{- define "gdt.configDir" -}}/etc/github-deployment-tracker{{- end -}}

{{/* The port of server.listen. */}}
{{- define "gdt.apiPort" -}}
{{- regexReplaceAll "^.*:" .Values.config.server.listen "" -}}
{{- end -}}

{{/* The file each secret setting is mounted as, as a dict of setting -> file name (also the
key of the Secret secrets.mode dev makes). */}}
{{- define "gdt.secretFileNames" -}}
{{- toYaml (dict "githubAppPrivateKey" "github-app-private-key.pem" "apiTokens" "api-tokens" "webhookSecrets" "webhook-secrets" "viewerTokens" "viewer-tokens") -}}
{{- end -}}

{{/* The files each secret setting is read from, as a dict of setting -> path ("" = unset). */}}
{{- define "gdt.secretFiles" -}}
{{- $files := dict -}}
{{- $names := include "gdt.secretFileNames" . | fromYaml -}}
{{- $mode := .Values.secrets.mode -}}
{{- range $what, $file := $names -}}
{{- $path := "" -}}
{{- if eq $mode "vault" -}}
{{- if get $.Values.secrets.vault.fields $what -}}{{- $path = printf "/vault/secrets/%s" $file -}}{{- end -}}
{{- else if eq $mode "dev" -}}
{{- if get $.Values.secrets.dev $what -}}{{- $path = printf "%s/%s" $.Values.secrets.mountPath $file -}}{{- end -}}
{{- else -}}
{{- if get $.Values.secrets.existingSecret.keys $what -}}{{- $path = printf "%s/%s" $.Values.secrets.mountPath $file -}}{{- end -}}
{{- end -}}
{{- $_ := set $files $what $path -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* The name of the Secret holding the app's secrets (existingSecret and dev). */}}
{{- define "gdt.secretName" -}}
{{- if eq .Values.secrets.mode "dev" -}}
{{- printf "%s-dev" (include "gdt.fullname" .) -}}
{{- else -}}
{{- default (include "gdt.fullname" .) .Values.secrets.existingSecret.name -}}
{{- end -}}
{{- end -}}

{{/* Refuses values that cannot work, with a message naming the value. */}}
{{- define "gdt.validate" -}}
{{- if and (eq .Values.secrets.mode "dev") (not .Values.secrets.dev.iKnowThisIsNotForProduction) -}}
{{- fail "secrets.mode dev writes the secrets into the release and a chart-made Secret; it is for development only: set secrets.dev.iKnowThisIsNotForProduction=true to render it" -}}
{{- end -}}
{{- if and (eq .Values.temporal.mode "mtls") (not .Values.temporal.mtls.secretName) -}}
{{- fail "temporal.mtls.secretName is required with temporal.mode mtls" -}}
{{- end -}}
{{- if and (eq .Values.temporal.mode "cloud") (not .Values.temporal.cloud.apiKeySecret.name) -}}
{{- fail "temporal.cloud.apiKeySecret.name is required with temporal.mode cloud" -}}
{{- end -}}
{{- if not (hasPrefix "0.0.0.0:" .Values.config.server.listen) -}}
{{- fail "config.server.listen must be 0.0.0.0:<port> in a pod: the probes and /metrics listen on its host" -}}
{{- end -}}
{{- end -}}

{{/* config.yaml: .Values.config with the chart-managed secret paths, unset keys left out. */}}
{{- define "gdt.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $files := include "gdt.secretFiles" . | fromYaml -}}
{{- if $files.githubAppPrivateKey -}}{{- $_ := set $cfg.github "private_key_path" $files.githubAppPrivateKey -}}{{- end -}}
{{- if $files.apiTokens -}}{{- $_ := set $cfg.server "api_tokens_file" $files.apiTokens -}}{{- end -}}
{{- if $files.webhookSecrets -}}{{- $_ := set $cfg.webhook "secrets_file" $files.webhookSecrets -}}{{- end -}}
{{- if $files.viewerTokens -}}{{- $_ := set $cfg "board" (set (default (dict) $cfg.board) "viewer_tokens_file" $files.viewerTokens) -}}{{- end -}}
{{- $tls := $cfg.temporal.tls -}}
{{- if not $tls.server_name -}}{{- $_ := unset $tls "server_name" -}}{{- end -}}
{{- if eq .Values.temporal.mode "mtls" -}}
{{- $m := .Values.temporal.mtls -}}
{{- $_ := set $tls "enabled" true -}}
{{- $_ := set $tls "client_cert_path" (printf "%s/%s" $m.mountPath $m.certKey) -}}
{{- $_ := set $tls "client_key_path" (printf "%s/%s" $m.mountPath $m.keyKey) -}}
{{- if $m.caKey -}}{{- $_ := set $tls "server_ca_cert_path" (printf "%s/%s" $m.mountPath $m.caKey) -}}{{- end -}}
{{- else if eq .Values.temporal.mode "cloud" -}}
{{- $_ := set $tls "enabled" true -}}
{{- end -}}
{{- range $key := list "code_patterns" "plugin_patterns" -}}
{{- if not (get $cfg.pr_checks $key) -}}{{- $_ := unset $cfg.pr_checks $key -}}{{- end -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Vault agent injector annotations: one file per secret under /vault/secrets/, in the
format gdt reads (the value as it is; tokens and webhook secrets one per line). The agent
logs in with a projected service-account token (volume vault-token), since gdt's own
container gets none. */}}
{{- define "gdt.vaultAnnotations" -}}
{{- $v := .Values.secrets.vault -}}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/role: {{ $v.role | quote }}
vault.hashicorp.com/agent-service-account-token-volume-name: vault-token
vault.hashicorp.com/agent-run-as-user: {{ .Values.podSecurityContext.runAsUser | quote }}
vault.hashicorp.com/agent-run-as-group: {{ .Values.podSecurityContext.runAsGroup | quote }}
{{- range $what, $file := include "gdt.secretFileNames" . | fromYaml }}
{{- with get $v.fields $what }}
vault.hashicorp.com/agent-inject-secret-{{ $file }}: {{ $v.path | quote }}
vault.hashicorp.com/agent-inject-template-{{ $file }}: |
  {{ printf "{{- with secret %q -}}{{ .Data.data.%s }}{{- end }}" $v.path . }}
{{- end }}
{{- end }}
{{- with $v.annotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
