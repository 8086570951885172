// One StorageV2 account for everything: the Functions host and Durable task hub (blob, queue,
// table), the deployment package, Event Grid's dead letters and the app's document containers.
// Identity only: shared keys are disabled, so every client (host, app, Event Grid, Content
// Understanding via user-delegation SAS) uses Microsoft Entra ID.

param name string
param location string
param tags object

@description('Blob containers to create (all private).')
param containerNames array

@description('Blob name prefixes ("container/" or "container/path") whose blobs are deleted a day after their last change.')
param shortLivedPrefixes array

@description('Retention of what finished jobs leave: {name, prefix ("container/"), days} each; blobs under the prefix are deleted that many days after their last change.')
param retentionRules array = []

@description('Zone-redundant storage (ZRS) instead of locally redundant (LRS).')
param zoneRedundant bool = false

@description('Closed to public networks: the app comes in through private endpoints (storage-private-endpoints.bicep), trusted Azure services (Event Grid dead-lettering) and trustedResourceIds through the firewall.')
param privateNetworking bool = false

@description('Resource ids let through the firewall under privateNetworking (resource-instance rules): the AI Services account, whose Content Understanding reads inputs through SAS URLs.')
param trustedResourceIds array = []

@description('Log Analytics workspace for metrics and blob logs. Empty: no diagnostic settings.')
param logAnalyticsWorkspaceId string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Under privateNetworking the public endpoint stays on but denies by default: unlike the
    // reference templates (which disable it), Content Understanding must still reach the inputs.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
      resourceAccessRules: [
        for resourceId in (privateNetworking ? trustedResourceIds : []): {
          tenantId: tenant().tenantId
          resourceId: resourceId
        }
      ]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Recover results deleted by mistake for a week.
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

// Queues and tables hold the Durable Functions task hub and the blob trigger's bookkeeping.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Staged uploads and SAS claim-check blobs are only needed while a job runs; the app deletes them
// itself, and the first rule removes whatever a crash or a cancelled job left behind. The
// retention rules expire results and ingested inputs after the ages the deployment chose (their
// jobs' history is purged by the app's purge_history timer, INSTANCE_HISTORY_RETENTION_DAYS).
var retentionPolicyRules = [
  for rule in retentionRules: {
    name: rule.name
    enabled: true
    type: 'Lifecycle'
    definition: {
      filters: {
        blobTypes: [
          'blockBlob'
        ]
        prefixMatch: [
          rule.prefix
        ]
      }
      actions: {
        baseBlob: {
          delete: {
            daysAfterModificationGreaterThan: rule.days
          }
        }
      }
    }
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: concat([
        {
          name: 'delete-short-lived-blobs'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: shortLivedPrefixes
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
            }
          }
        }
      ], retentionPolicyRules)
    }
  }
  dependsOn: [
    containers
  ]
}

// Account metrics, and the blob service's logs and metrics (who read, wrote or deleted what).
// Queue and table logs are left out on purpose: the Durable Functions host polls its queues
// every few seconds, which would make them the largest and least useful part of the bill.
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'to-log-analytics'
  scope: storage
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
