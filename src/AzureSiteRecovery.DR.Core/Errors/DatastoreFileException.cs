namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>A datastore file transfer (HTTP /folder) that the server refused: missing file, no access, server error.</summary>
    public sealed class DatastoreFileException : DRException
    {
        public DatastoreFileException(string datastorePath, int statusCode, string message)
            : base(statusCode == 404 ? "VSphereDatastoreFileNotFound" : "VSphereDatastoreFile",
                statusCode == 404 ? FailureKind.NotFound : statusCode == 401 || statusCode == 403 ? FailureKind.Unauthorized : FailureKind.Failed,
                datastorePath, message)
        {
            StatusCode = statusCode;
        }

        /// <summary>The HTTP status the datastore interface answered with.</summary>
        public int StatusCode { get; }
    }
}
