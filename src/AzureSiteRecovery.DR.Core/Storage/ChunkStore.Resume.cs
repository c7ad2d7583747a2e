using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Errors;
using AzureSiteRecovery.DR.Core.Secrets;

namespace AzureSiteRecovery.DR.Core.Storage
{
    /// <summary>Resume records (<see cref="ResumeRecord"/>): sealed like manifests (purpose "resume-record", the object key as associated data).</summary>
    public sealed partial class ChunkStore
    {
        private const string ResumePurpose = "resume-record";

        /// <summary>
        /// Stores the VM's resume record, replacing the one before. It goes straight to the store, never to the spool:
        /// a record drained after a later commit would only be ignored, and one the store does not hold is no loss.
        /// </summary>
        public Task WriteResumeAsync(ResumeRecord record, CancellationToken cancellationToken)
        {
            var key = record.ObjectKey;
            var sealedRecord = resumeCipher.Seal(new ArraySegment<byte>(ManifestFormat.WriteResume(record)), new ArraySegment<byte>(Encoding.UTF8.GetBytes(key)));
            return DirectStore.PutAsync(key, sealedRecord, cancellationToken);
        }

        /// <summary>
        /// The VM's resume record; null when there is none, or when it cannot be opened or read (tampered, another
        /// vault's key, another module version): a record is only ever a shortcut, so such a one is deleted and the copy starts over.
        /// </summary>
        public async Task<ResumeRecord?> ReadResumeAsync(string vmId, CancellationToken cancellationToken)
        {
            var key = ObjectKeys.Resume(vmId);
            byte[] sealedRecord;
            try
            {
                sealedRecord = await DirectStore.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreObjectNotFoundException)
            {
                return null;
            }
            try
            {
                var record = ManifestFormat.ReadResume(resumeCipher.Open(new ArraySegment<byte>(sealedRecord), new ArraySegment<byte>(Encoding.UTF8.GetBytes(key))));
                if (record.VmId == vmId) return record;
            }
            catch (Exception ex) when (ex is TamperedDataException || ex is InvalidDataException)
            {
                // Unusable: deleted below, as a record of another VM is.
            }
            await DirectStore.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            return null;
        }

        /// <summary>Deletes the VM's resume record (its point committed, or it no longer applies); false when there was none.</summary>
        public Task<bool> DeleteResumeAsync(string vmId, CancellationToken cancellationToken) =>
            DirectStore.DeleteAsync(ObjectKeys.Resume(vmId), cancellationToken);

        /// <summary>Every readable resume record in the store (garbage collection keeps the chunks they name).</summary>
        public async Task<IReadOnlyList<ResumeRecord>> ListResumesAsync(CancellationToken cancellationToken)
        {
            var vmIds = new List<string>();
            await foreach (var item in Store.ListAsync(ObjectKeys.ResumePrefix, cancellationToken).ConfigureAwait(false))
            {
                var vmId = item.Key.Substring(ObjectKeys.ResumePrefix.Length);
                if (vmId.Length > 0 && vmId.IndexOf('/') < 0) vmIds.Add(vmId);
            }
            var records = new List<ResumeRecord>();
            foreach (var vmId in vmIds)
            {
                var record = await ReadResumeAsync(vmId, cancellationToken).ConfigureAwait(false);
                if (record != null) records.Add(record);
            }
            return records;
        }

        /// <summary>
        /// Touches each chunk (so a garbage collection running now keeps it) and returns those the store does not
        /// hold: a chunk taken from a resume record is used only if it is still there.
        /// </summary>
        public async Task<ISet<ChunkHash>> TouchChunksAsync(IEnumerable<ChunkHash> hashes, CancellationToken cancellationToken)
        {
            var missing = new HashSet<ChunkHash>();
            var gate = new object();
            await BoundedParallel.ForEachAsync(hashes.Where(h => !h.IsZero).Distinct().ToList(), 8, async (hash, ct) =>
            {
                if (!await Store.TouchAsync(ObjectKeyOf(hash), ct).ConfigureAwait(false))
                {
                    lock (gate) missing.Add(hash);
                }
            }, cancellationToken).ConfigureAwait(false);
            return missing;
        }

        private IObjectStore DirectStore => Store is SpoolingObjectStore spooling ? spooling.Primary : Store;
    }
}
