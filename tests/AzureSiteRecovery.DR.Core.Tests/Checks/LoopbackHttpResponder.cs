using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace AzureSiteRecovery.DR.Core.Tests.Checks
{
    /// <summary>A minimal HTTP/1.1 server on 127.0.0.1 (a free port): answers every request with <see cref="Status"/> and records the request lines.</summary>
    internal sealed class LoopbackHttpResponder : IDisposable
    {
        private readonly TcpListener listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new CancellationTokenSource();

        public LoopbackHttpResponder(int status, string? location = null)
        {
            Status = status;
            Location = location;
            listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;
        public int Status { get; set; }
        public string? Location { get; }

        /// <summary>"GET /health HTTP/1.1" for each request, in order.</summary>
        public ConcurrentQueue<string> RequestLines { get; } = new ConcurrentQueue<string>();

        public void Dispose()
        {
            stop.Cancel();
            listener.Stop();
        }

        private async Task ServeAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }

                _ = Task.Run(() => AnswerAsync(client));
            }
        }

        private async Task AnswerAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[4096];
                while (!request.ToString().Contains("\r\n\r\n"))
                {
                    var read = await stream.ReadAsync(buffer, 0, buffer.Length);
                    if (read == 0) return;
                    request.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                RequestLines.Enqueue(request.ToString().Split("\r\n")[0]);
                // The reason phrase as servers write it: ServiceUnavailable -> Service Unavailable.
                var reason = Regex.Replace(((HttpStatusCode)Status).ToString(), "(?<=[a-z])(?=[A-Z])", " ");
                var headers = $"HTTP/1.1 {Status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n" +
                    (Location is null ? "" : $"Location: {Location}\r\n") + "\r\n";
                var answer = Encoding.ASCII.GetBytes(headers);
                await stream.WriteAsync(answer, 0, answer.Length);
            }
        }
    }
}
