using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>
    /// A disk transfer that failed after its retries (VSphereTransferFailed): which file, at which offset,
    /// from or to which server, how many attempts and the last transport error; the replication source adds
    /// the VM and the disk (<see cref="ForDisk"/>).
    /// </summary>
    public sealed class TransferFailedException : DRException
    {
        public TransferFailedException(string errorId, string direction, string file, long offset, string server, string? site, int attempts, string lastError, Exception? inner,
            string? vm = null, string? disk = null)
            : base(errorId, FailureKind.Unavailable, file, Describe(direction, file, offset, server, site, attempts, lastError, vm, disk), inner)
        {
            Direction = direction;
            File = file;
            Offset = offset;
            Server = server;
            Site = site;
            Attempts = attempts;
            LastError = lastError;
            Vm = vm;
            Disk = disk;
        }

        /// <summary>"read" or "write".</summary>
        public string Direction { get; }
        public string File { get; }
        /// <summary>The byte of the file the transfer had reached when it gave up.</summary>
        public long Offset { get; }
        public string Server { get; }
        public string? Site { get; }
        public int Attempts { get; }
        public string LastError { get; }
        public string? Vm { get; }
        public string? Disk { get; }

        /// <summary>The same failure, naming the VM and disk it was for.</summary>
        public TransferFailedException ForDisk(string vm, string disk) =>
            new TransferFailedException(ErrorId, Direction, File, Offset, Server, Site, Attempts, LastError, InnerException, vm, disk);

        private static string Describe(string direction, string file, long offset, string server, string? site, int attempts, string lastError, string? vm, string? disk)
        {
            var what = vm is null ? $"'{file}'" : $"disk '{disk}' of VM '{vm}' ('{file}')";
            var where = site is null ? $"'{server}'" : $"'{server}' (site '{site}')";
            var tries = attempts == 1 ? "1 attempt" : $"{attempts} attempts";
            return $"Cannot {direction} {what} at offset {offset} {(direction == "read" ? "from" : "on")} {where} after {tries}: {lastError}. " +
                (direction == "read" ? "What was copied is kept and the next cycle carries on from it. " : "Nothing was committed from this write; run the operation again. ") +
                "Check the network path to the server (Test-DRSite), and the site's bandwidth limit and the policy's TransferStallTimeout if the link is slow.";
        }
    }
}
