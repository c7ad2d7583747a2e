# The replication benchmarks' baseline: ranged GETs of a VM's flat disk file from the same vcsim,
# straight into Stream.Null, with a bare HttpClient (vcsim's datastore HTTP needs no session: the
# same URL the module reads, without the cookie).

function New-PlainReader {
    param([Parameter(Mandatory)][string] $SdkUrl, [Parameter(Mandatory)][string] $VmName)
    $handler = [Net.Http.HttpClientHandler]::new()
    $handler.ServerCertificateCustomValidationCallback = [Net.Http.HttpClientHandler]::DangerousAcceptAnyServerCertificateValidator
    $http = [Net.Http.HttpClient]::new($handler)
    $http.Timeout = [timespan]::FromMinutes(10)
    $reader = [pscustomobject]@{ Url = [uri]::new([uri]$SdkUrl, "/folder/$VmName/disk1-flat.vmdk?dcPath=DC0&dsName=LocalDS_0"); Http = $http }
    Read-PlainRange $reader 0 (1MB - 1) # connection and TLS set up before any timing
    $reader
}

# Bytes [From, To] of the file, read and dropped; anything but a 206 of exactly that length is an error.
function Read-PlainRange {
    param([Parameter(Mandatory)] $Reader, [long] $From, [long] $To)
    $request = [Net.Http.HttpRequestMessage]::new([Net.Http.HttpMethod]::Get, $Reader.Url)
    $request.Headers.Range = [Net.Http.Headers.RangeHeaderValue]::new($From, $To)
    $response = $Reader.Http.SendAsync($request, [Net.Http.HttpCompletionOption]::ResponseHeadersRead).GetAwaiter().GetResult()
    try {
        if ([int]$response.StatusCode -ne 206 -or $response.Content.Headers.ContentLength -ne $To - $From + 1) {
            throw "GET $($Reader.Url) ($From-$To): HTTP $([int]$response.StatusCode), $($response.Content.Headers.ContentLength) bytes"
        }
        $response.Content.ReadAsStreamAsync().GetAwaiter().GetResult().CopyTo([IO.Stream]::Null, 1MB)
    }
    finally { $response.Dispose(); $request.Dispose() }
}

Export-ModuleMember -Function New-PlainReader, Read-PlainRange
