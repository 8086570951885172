// The Event Grid system topic for the storage account's blob events. Flex Consumption supports
// only the Event Grid source for blob triggers. The subscription that sends the intake
// container's BlobCreated events to the blob_intake function is made by scripts/postdeploy.sh
// (and .ps1) after `azd deploy`, because its webhook URL carries the blobs_extension system key,
// which the Functions host creates only once the code runs.

param name string
param location string
param tags object
param storageAccountId string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
